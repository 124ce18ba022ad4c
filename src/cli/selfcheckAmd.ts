/**
 * The AMD half of `selfcheck`: an AMD-Vi unit with a GCR3 table and an ATS + PRI endpoint, on
 * the emulated hardware alone. Shows that a guest walk fills the IOTLB and the GCR3 cache, that
 * an INVALIDATE_IOMMU_PAGES takes effect only at its COMPLETION_WAIT, that a cleared GCR3 entry
 * keeps translating from the cache until the all-pages flush of its PASID, that the ATC needs
 * its own INVALIDATE_IOTLB_PAGES, and that a page request goes to the PPR log and its
 * COMPLETE_PPR_REQUEST reaches the device.
 */
import { AmdIommuUnit, Gcr3Table, INV_ALL_PAGES_ADDRESS } from '../hw/amd/index.js';
import { PciDevice } from '../hw/device.js';
import { PhysMem } from '../hw/mem.js';
import { CpuPageTable, KernelSpace } from '../hw/pagetable.js';
import { userToken, userVpn } from '../shared/index.js';

type Check = (what: string, actual: unknown, expected: unknown) => void;

export const amdScenario = (levels: 4 | 5, check: Check): void => {
  const mem = new PhysMem();
  const kernel = new KernelSpace(mem, levels);
  const pt = new CpuPageTable(mem, levels, 0, kernel);
  const frame = mem.alloc('data', 0, userToken(0, 0, 1));
  pt.map(userVpn(0), frame, true);
  const amd = new AmdIommuUnit(0, mem);
  const dev = new PciDevice(0, 0, amd, 20, true, true, mem);
  amd.connect(dev);
  const gcr3 = new Gcr3Table('amd0', 0);
  gcr3.allocLeaf(1);
  gcr3.write(1, { valid: true, cr3: pt.pgd });
  amd.devTable.set(0, { v: true, tv: true, gv: true, giov: false, glx: 0, gcr3, domid: 2, ppr: true, iotlb: true, gptLevels: levels });
  const dma = (): string => {
    const r = dev.dma(1, userVpn(0), false);
    return r.ok ? 'ok' : r.fault;
  };
  check('amd0: a DMA through PASID 1 walks the GCR3 entry and the page tables', dma(), 'ok');
  check('amd0: the IOTLB and the GCR3 cache hold (DomainID 2, PASID 1)', [amd.iotlb.lookup(2, 1, userVpn(0)) !== undefined, amd.gcr3Cache.size], [true, 1]);
  gcr3.write(1, { valid: false, cr3: 0 });
  amd.submit({ kind: 'INVALIDATE_IOMMU_PAGES', domid: 2, pasid: 1, gn: true, pde: true, s: true, address: INV_ALL_PAGES_ADDRESS });
  dev.atcInvalidate(1, 0, Infinity);
  check('amd0: with the GCR3 entry cleared and the flush queued, the caches still translate', dma(), 'ok');
  amd.submit({ kind: 'COMPLETION_WAIT', data: 1 });
  check('amd0: the flush takes effect at COMPLETION_WAIT: the GCR3 cache is empty', [amd.gcr3Cache.size, amd.cmdBuf.sem], [0, 1]);
  dev.atcInvalidate(1, 0, Infinity);
  check('amd0: the next DMA finds no GCR3 entry', dma(), 'amd0: no-pasid-entry');
  gcr3.write(1, { valid: true, cr3: pt.pgd });
  check('amd0: a DMA through the rewritten entry fills the ATC again', dma(), 'ok');
  check('amd0: the ATC hit needs no IOMMU', [dma(), dev.counters.get('atc.hit')], ['ok', 1]);
  amd.submit({ kind: 'INVALIDATE_IOTLB_PAGES', devid: 0, pasid: 1, gn: true, s: true, address: INV_ALL_PAGES_ADDRESS });
  amd.submit({ kind: 'COMPLETION_WAIT', data: 2 });
  check('amd0: INVALIDATE_IOTLB_PAGES empties the ATC of PASID 1', dev.atcEntries().length, 0);
  pt.unmap(userVpn(0));
  amd.submit({ kind: 'INVALIDATE_IOMMU_PAGES', domid: 2, pasid: 1, gn: true, pde: true, s: false, address: BigInt(userVpn(0)) << 12n });
  amd.submit({ kind: 'COMPLETION_WAIT', data: 3 });
  check('amd0: a miss of the PRI endpoint is a page request in the PPR log', [dev.dma(1, userVpn(0), true).ok, amd.pprLog.pending.length], [false, 1]);
  amd.pprLog.consumeAll();
  amd.submit({ kind: 'COMPLETE_PPR_REQUEST', devid: 0, pasid: 1, gn: true, status: 2, tag: 0 });
  check('amd0: COMPLETE_PPR_REQUEST answers it (failure) and frees the credit', [dev.priState!.outstanding.length, dev.priState!.completions[0]?.code], [0, 'failure']);
  check('amd0: every command kind is counted', amd.counters.get('cmd.INVALIDATE_IOMMU_PAGES') + amd.counters.get('cmd.INVALIDATE_IOTLB_PAGES') +
    amd.counters.get('cmd.COMPLETION_WAIT') + amd.counters.get('cmd.COMPLETE_PPR_REQUEST'), 7);
};
