import { describe, expect, test } from 'vitest';
import { AmdIommuUnit, Gcr3Table, INV_ALL_PAGES_ADDRESS, invRange } from '../../../src/hw/amd/index.js';
import { PciDevice } from '../../../src/hw/device.js';
import { PhysMem } from '../../../src/hw/mem.js';
import { CpuPageTable } from '../../../src/hw/pagetable.js';
import { HwError } from '../../../src/hw/errors.js';
import { didPasidKey } from '../../../src/hw/vtd/iotlb.js';

/** A unit with one ATS endpoint (DevID 0) whose DTE has a GCR3 table with PASID 1 → a pgd mapping one page. */
function rig(pri = false) {
  const mem = new PhysMem();
  const unit = new AmdIommuUnit(0, mem);
  const dev = new PciDevice(0, 0, unit, 20, true, pri, mem);
  unit.connect(dev);
  const pt = new CpuPageTable(mem, 4, 0, undefined);
  const vpn = 0x40000;
  pt.map(vpn, mem.alloc('data', 0, 77), true);
  const gcr3 = new Gcr3Table('amd0', 0);
  gcr3.allocLeaf(1);
  gcr3.write(1, { valid: true, cr3: pt.pgd });
  unit.devTable.set(0, { v: true, tv: true, gv: true, giov: false, glx: 0, gcr3, domid: 7, ppr: pri, iotlb: true, gptLevels: 4 });
  return { mem, unit, dev, pt, vpn, gcr3 };
}

describe('AMD invalidation addresses (48882 §2.4.3)', () => {
  test('S clear is one page; S set takes the size from the low one bits; all ones is everything', () => {
    expect(invRange(0x40001000n, false)).toEqual({ first: 0x40001, pages: 1 });
    expect(invRange(0x40001000n, true)).toEqual({ first: 0x40000, pages: 4 });
    expect(invRange(0x40000000n, true)).toEqual({ first: 0x40000, pages: 2 });
    expect(invRange(INV_ALL_PAGES_ADDRESS, true).pages).toBe(Infinity);
    expect(invRange(((1n << 40n) - 1n) << 12n, true)).toEqual({ first: 0, pages: 2 ** 41 });
    expect(invRange(((3n << 40n) | ((1n << 33n) - 1n)) << 12n, true)).toEqual({ first: 3 * 2 ** 40, pages: 2 ** 34 });
  });
});

describe('AMD IOMMU unit', () => {
  test('a guest translation walks the GCR3 entry and caches the leaf under (DomainID, PASID)', () => {
    const { unit, dev, vpn } = rig();
    expect(dev.dma(1, vpn, false)).toEqual({ ok: true, token: 77 });
    expect(unit.iotlb.lookup(7, 1, vpn)).toBeDefined();
    expect(unit.gcr3Cache.has(didPasidKey(7, 1))).toBe(true);
    expect(unit.translate(dev, 0, vpn, false)).toEqual({ ok: false, fault: 'stream-abort' });
    expect(unit.translate(dev, 2, vpn, false)).toEqual({ ok: false, fault: 'no-pasid-entry' });
  });

  test('invalidations take effect only at the COMPLETION_WAIT that follows them', () => {
    const { unit, dev, vpn } = rig();
    dev.dma(1, vpn, false);
    unit.submit({ kind: 'INVALIDATE_IOMMU_PAGES', domid: 7, pasid: 1, gn: true, pde: true, s: false, address: BigInt(vpn) << 12n });
    expect(unit.iotlb.lookup(7, 1, vpn)).toBeDefined();
    expect(unit.cmdBuf.pendingCount).toBe(1);
    unit.submit({ kind: 'COMPLETION_WAIT', data: 1 });
    expect(unit.iotlb.lookup(7, 1, vpn)).toBeUndefined();
    expect(unit.cmdBuf.sem).toBe(1);
    // A one-page flush leaves the cached GCR3 entry; only the all-pages form drops it.
    expect(unit.gcr3Cache.has(didPasidKey(7, 1))).toBe(true);
    unit.submit({ kind: 'INVALIDATE_IOMMU_PAGES', domid: 7, pasid: 1, gn: true, pde: true, s: true, address: INV_ALL_PAGES_ADDRESS });
    unit.submit({ kind: 'COMPLETION_WAIT', data: 2 });
    expect(unit.gcr3Cache.has(didPasidKey(7, 1))).toBe(false);
    expect(unit.counters.get('cmd.INVALIDATE_IOMMU_PAGES')).toBe(2);
    expect(unit.counters.get('cmd.COMPLETION_WAIT')).toBe(2);
  });

  test('a cleared GCR3 entry still translates from the cache until it is flushed; a DTE until INVALIDATE_DEVTAB_ENTRY', () => {
    const { unit, dev, vpn, gcr3 } = rig();
    dev.dma(1, vpn, false);
    gcr3.write(1, { valid: false, cr3: 0 });
    unit.iotlb.invalidatePasid(7, 1);
    expect(unit.translate(dev, 1, vpn, false).ok).toBe(true);
    unit.devTable.set(0, { ...unit.devTable.get(0), gv: false });
    expect(unit.translate(dev, 1, vpn, false).ok).toBe(true);
    unit.submit({ kind: 'INVALIDATE_DEVTAB_ENTRY', devid: 0 });
    unit.submit({ kind: 'COMPLETION_WAIT', data: 1 });
    expect(unit.translate(dev, 1, vpn, false)).toEqual({ ok: false, fault: 'no-pasid-entry' });
  });

  test('an ATS invalidation to a removed endpoint is logged as IOTLB_INV_TIMEOUT and the buffer moves on', () => {
    const { unit, dev } = rig();
    dev.surpriseRemove();
    unit.submit({ kind: 'INVALIDATE_IOTLB_PAGES', devid: 0, pasid: 1, gn: true, s: true, address: INV_ALL_PAGES_ADDRESS });
    unit.submit({ kind: 'COMPLETION_WAIT', data: 1 });
    expect(unit.cmdBuf.sem).toBe(1);
    expect(unit.eventLog.pending).toEqual([{ type: 'IOTLB_INV_TIMEOUT', devid: 0, pasid: 1 }]);
  });

  test('page requests go to the PPR log only with DTE.PPR; COMPLETE_PPR_REQUEST reaches the endpoint at once', () => {
    const { unit, dev, vpn, pt } = rig(true);
    pt.unmap(vpn);
    expect(dev.dma(1, vpn, false)).toMatchObject({ pending: true });
    expect(unit.pprLog.pending).toEqual([{ devid: 0, pasid: 1, gn: true, vpn, write: false, tag: 0, last: true }]);
    unit.submit({ kind: 'COMPLETE_PPR_REQUEST', devid: 0, pasid: 1, gn: true, status: 1, tag: 0 });
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.completions[0]).toMatchObject({ code: 'invalid', ok: false });
    const plain = rig(false);
    plain.pt.unmap(plain.vpn);
    expect(plain.unit.pageRequest(plain.dev, 1, plain.vpn, false, 0, true)).toBeUndefined();
    expect(plain.unit.eventLog.pending[0]!.type).toBe('INVALID_PPR_REQUEST');
  });

  test('a group of several requests shares its tag with LAST on the final one; a request without a PASID is logged with GN = 0', () => {
    const { unit, dev, vpn, pt } = rig(true);
    pt.unmap(vpn);
    expect(dev.pageRequestGroup(1, [vpn, vpn + 1], true)).toMatchObject({ pending: true });
    expect(unit.pprLog.pending.map((e) => [e.pasid, e.gn, e.tag, e.last])).toEqual([[1, true, 0, false], [1, true, 0, true]]);
    unit.pprLog.consumeAll();
    unit.submit({ kind: 'COMPLETE_PPR_REQUEST', devid: 0, pasid: 1, gn: true, status: 1, tag: 0 });
    expect(dev.priState!.outstanding).toEqual([]);
    expect(unit.pageRequest(dev, -1, vpn, false, 3, true)).toEqual({ root: -1, dropped: false });
    expect(unit.pprLog.pending).toEqual([{ devid: 0, pasid: 0, gn: false, vpn, write: false, tag: 3, last: true }]);
  });

  test('malformed commands and GCR3 writes beyond the table are hardware misuse', () => {
    const { unit, gcr3 } = rig();
    expect(() => unit.submit({ kind: 'COMPLETE_PPR_REQUEST', devid: 0, pasid: 1, gn: true, status: 0, tag: 600 })).toThrow(HwError);
    expect(() => unit.submit({ kind: 'INVALIDATE_IOTLB_PAGES', devid: 9, pasid: 1, gn: true, s: false, address: 0n })).toThrow(/no endpoint on DevID 9/);
    expect(() => gcr3.write(600, { valid: true, cr3: 1 })).toThrow(/beyond GLX 0/);
    expect(new Gcr3Table('amd0', 1).span).toBe(512 * 512);
  });
});
