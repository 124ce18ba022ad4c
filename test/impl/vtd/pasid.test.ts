import { describe, expect, test } from 'vitest';
import { defaultTopology, seedThreadTopology } from '../../../src/shared/index.js';
import { dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import { intel_pasid_setup_first_level, intel_pasid_tear_down_entry } from '../../../src/impl/vtd/pasid.js';
import { sync } from '../../../src/impl/core/sched.js';
import { bindAll, dmaAll, populated, vtdWorld } from './fixture.js';

describe('intel_pasid_tear_down_entry', () => {
  test('unbind order: clear entry → PASID cache → P_IOTLB → devTLB, each with its wait; no drain without IOPF', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0]), ...dmaAll([0], 0));
    w.takeQueue();
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(w.takeQueue(0)).toEqual([
      'pc did=1 pasid=1', 'wait', 'piotlb did=1 pasid=1 all', 'wait', 'devtlb sid=0 pasid=1 addr=0 size=2^52', 'wait',
    ]);
    expect(w.iommu(0).unit.counters.get('prq.drain')).toBe(0);
    expect(dev_iommu_priv_get(w.world.devices[0]!).pasid_table!.read(1).present).toBe(false);
    expect(w.world.devices[0]!.hw.atcEntries()).toEqual([]);
    expect(w.iommu(0).unit.iotlb.entries()).toEqual([]);
    expect(w.iommu(0).unit.pasidCache.size).toBe(0);
  });

  test('a device on the IOPF queue gets the PRQ drain last: fenced wait, P_IOTLB, devTLB, drain wait', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0]));
    dev_iommu_priv_get(w.world.devices[0]!).iopf_refcount = 1;
    w.takeQueue();
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(w.takeQueue(0).slice(6)).toEqual([
      'wait fence', 'piotlb did=1 pasid=1 all', 'devtlb sid=0 pasid=1 addr=0 size=2^52', 'wait drain',
    ]);
    expect(w.iommu(0).unit.counters.get('prq.drain')).toBe(1);
  });

  test('the entry is cleared before the first invalidation is submitted', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0]));
    const table = dev_iommu_priv_get(w.world.devices[0]!).pasid_table!;
    const seen: boolean[] = [];
    const unit = w.iommu(0).unit;
    const submit = unit.submit.bind(unit);
    unit.submit = (d) => {
      seen.push(table.read(1).present);
      submit(d);
    };
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => !p)).toBe(true);
  });

  test('a surprise-removed device gets no devTLB invalidation at teardown, so the queue never hangs', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0, 1]));
    w.world.devices[0]!.hw.disconnected = true;
    w.takeQueue();
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(w.takeQueue(0)).toEqual(['pc did=1 pasid=1', 'wait', 'piotlb did=1 pasid=1 all', 'wait']);
    expect(w.iommu(0).unit.ite).toBe(false);
  });

  test('a range flush still reaches a disconnected device: ITE, and qi_submit_sync gives up', () => {
    const w = vtdWorld();
    w.run(...populated(2), ...bindAll([0, 1]));
    w.world.devices[1]!.hw.disconnected = true;
    w.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(w.iommu(0).qi_timeouts).toBe(1);
    expect(w.iommu(0).unit.ite).toBe(false);
    expect(w.iommu(0).unit.queue.abortedWaits).toBe(1);
  });

  test('tearing down an entry that was never set up sends nothing and does not warn', () => {
    const w = vtdWorld();
    w.run(...populated(1));
    const dev = w.world.devices[0]!;
    w.takeQueue();
    sync(w.iommu(0).kernel, intel_pasid_tear_down_entry(w.iommu(0), dev, 9, false));
    expect(w.takeQueue()).toEqual([]);
    expect(w.world.core.warnings).toEqual([]);
  });
});

describe('intel_pasid_setup_first_level', () => {
  test('a present entry is -EBUSY; a PASID beyond the table warns and is -ENODEV', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    w.run(...populated(1), ...bindAll([0]));
    const dev = w.world.devices[0]!;
    const pgd = w.world.mms[0]!.pgd.pgd;
    expect(sync(w.iommu(0).kernel, intel_pasid_setup_first_level(w.iommu(0), dev, pgd, 1, 1, 0))).toBe('EBUSY');
    const max = dev_iommu_priv_get(dev).pasid_table!.maxPasid;
    expect(sync(w.iommu(0).kernel, intel_pasid_setup_first_level(w.iommu(0), dev, pgd, max, 1, 0))).toBe('ENODEV');
    expect(w.world.core.warnings).toHaveLength(1);
    expect(sync(w.iommu(0).kernel, intel_pasid_setup_first_level(w.iommu(0), dev, pgd, 2, 1, 0))).toBe(0);
  });

  test('the PASID directory is sized from the PCI PASID width, at least 32768 PASIDs', () => {
    const small = vtdWorld(defaultTopology('vtd'));
    expect(dev_iommu_priv_get(small.world.devices[3]!).pasid_table!.maxPasid).toBe(32768);
    const big = vtdWorld(seedThreadTopology());
    expect(dev_iommu_priv_get(big.world.devices[0]!).pasid_table!.maxPasid).toBe(2 ** 20);
    expect(big.iommu(0).max_pasids).toBe(2 ** 20);
    expect(small.iommu(0).max_pasids).toBe(16);
  });
});
