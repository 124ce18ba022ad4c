import { describe, expect, test } from 'vitest';
import { FINDING_NAMES, defaultTopology, seedThreadTopology, type Topology } from '../../../src/shared/index.js';
import { FLPT_DEFAULT_DID, dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import { findLeaks } from '../../../src/impl/index.js';
import { intel_leak_check } from '../../../src/impl/vtd/leaks.js';
import { bindAll, dmaAll, populated, vtdWorld } from './fixture.js';

describe('intel SVA domain and set_dev_pasid', () => {
  test.each([4, 5] as const)('bind writes a first-level PASID entry: FL, FLPTR = pgd, DID 1, %i levels', (levels) => {
    const topo: Topology = { ...seedThreadTopology(), ptLevels: levels };
    const w = vtdWorld(topo);
    const [bind] = w.run(...populated(1), ...bindAll([0])).slice(-1);
    expect(bind).toEqual({ ok: true, value: 1 });
    const mm = w.world.mms[0]!;
    const entry = dev_iommu_priv_get(w.world.devices[0]!).pasid_table!.read(1);
    expect(entry).toEqual({ present: true, fpd: false, pgtt: 'FL', flptr: mm.pgd.pgd, slptr: 0, did: FLPT_DEFAULT_DID, levels });
    expect(w.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: true })[0]).toMatchObject({ ok: true });
    // A fresh first-level entry on real hardware (CM=0) needs no invalidation.
    expect(w.iommu(0).unit.counters.get('qi.wait')).toBe(0);
  });

  test('one IOTLB tag per (IOMMU, DID 1, PASID) shared by its devices; one DEVTLB tag per ATS device', () => {
    const w = vtdWorld(seedThreadTopology(2));
    w.run(...populated(1), ...bindAll([0, 4, 1, 5, 2, 3]));
    expect(w.world.mms[0]!.iommu_mm!.sva_domains).toHaveLength(1);
    const tags = w.domainOf(0).cache_tags.map((t) => `${t.iommu.name} ${t.type} did=${t.domain_id} pasid=${t.pasid} ${t.dev?.hw.name ?? '-'} x${t.users}`);
    // Tags of one IOMMU stay together; a new IOMMU's tags go to the head (list_add after head).
    expect(tags).toEqual([
      'dmar1 IOTLB did=1 pasid=1 - x2', 'dmar1 DEVTLB did=1 pasid=1 dev4 x1', 'dmar1 DEVTLB did=1 pasid=1 dev5 x1',
      'dmar0 IOTLB did=1 pasid=1 - x4', 'dmar0 DEVTLB did=1 pasid=1 dev0 x1', 'dmar0 DEVTLB did=1 pasid=1 dev1 x1',
      'dmar0 DEVTLB did=1 pasid=1 dev2 x1', 'dmar0 DEVTLB did=1 pasid=1 dev3 x1',
    ]);
    expect(w.domainOf(0).dev_pasids.map((p) => p.dev.id)).toEqual([3, 2, 5, 1, 4, 0]);
  });

  test('unbinding devices drops their tags; the last unbind frees the domain after a grace period', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0, 1]));
    const dmar = w.domainOf(0);
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(dmar.cache_tags.map((t) => `${t.type} x${t.users}`)).toEqual(['IOTLB x1', 'DEVTLB x1']);
    w.run({ kind: 'unbind', dev: 1, mm: 0 });
    expect(dmar.cache_tags).toEqual([]);
    expect(dmar.freed).toBe(false);
    expect(dmar.notifier!.hooked).toBe(false);
    w.run({ kind: 'gracePeriod' });
    expect(dmar.freed).toBe(true);
    expect(dmar.qi_batch).toBeUndefined();
    // Mainline: each PASID detach of a device without PRI disables IOPF it never enabled
    // (finding vtd-iopf-remove-nonpri); its fix leaves the log empty.
    expect(w.world.core.warnings).toEqual(['dmar0: intel_iommu_disable_iopf: not enabled', 'dmar0: intel_iommu_disable_iopf: not enabled']);
    const fixed = vtdWorld(seedThreadTopology(), ['vtd-iopf-remove-nonpri']);
    fixed.run(...populated(1), ...bindAll([0, 1]), { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 });
    expect(fixed.world.core.warnings).toEqual([]);
  });

  test('the fix as upstream took it (534b5f98ab73): the iopf helpers skip SVA on a device without PRI, a PRI device still takes and drops its reference', () => {
    const t = defaultTopology('vtd');
    const topo: Topology = { ...t, devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
    const w = vtdWorld(topo, ['vtd-iopf-remove-nonpri']);
    const withPri = dev_iommu_priv_get(w.world.devices[0]!);
    w.run(...populated(1), ...bindAll([0]));
    expect(withPri.iopf_refcount).toBe(1);
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(withPri.iopf_refcount).toBe(0);
    const nonPri = vtdWorld(seedThreadTopology(), ['vtd-iopf-remove-nonpri']);
    expect(nonPri.run(...populated(1), ...bindAll([0])).at(-1)).toEqual({ ok: true, value: 1 });
    expect(dev_iommu_priv_get(nonPri.world.devices[0]!).iopf_refcount).toBe(0);
    nonPri.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(nonPri.world.core.warnings).toEqual([]);
  });

  test('a device without ATS cannot do SVA on 6.17 (intel_iommu_sva_supported: -EINVAL)', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    const obs = w.run(...populated(1), { kind: 'bind', dev: 1, mm: 0 });
    expect(obs.at(-1)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(w.world.core.live.domains.size).toBe(0);
  });

  test('release tears every entry down: P first, the flushes, then the zeroing (75ed00055c05), which loses FPD', () => {
    const w = vtdWorld();
    w.run(...populated(2), ...bindAll([0, 1]), ...dmaAll([0, 1], 0));
    w.takeQueue();
    w.run({ kind: 'exit', mm: 0 });
    // intel_pasid_clear_entry keeps FPD only for a present entry, and P is already clear
    // (finding vtd-release-fpd-lost): the entry ends all zero.
    for (const dev of [0, 1]) {
      const e = dev_iommu_priv_get(w.world.devices[dev]!).pasid_table!.read(1);
      expect(e).toMatchObject({ present: false, fpd: false, did: 0, flptr: 0 });
    }
    // Release flushes like a teardown but never drains the PRQ (fault_ignore).
    expect(w.takeQueue(0)).toEqual([
      'pc did=1 pasid=1', 'wait', 'piotlb did=1 pasid=1 all', 'wait', 'devtlb sid=1 pasid=1 addr=0 size=2^52', 'wait',
      'pc did=1 pasid=1', 'wait', 'piotlb did=1 pasid=1 all', 'wait', 'devtlb sid=0 pasid=1 addr=0 size=2^52', 'wait',
    ]);
    // No FPD: the DMA faults are not silenced.
    expect(w.run(...dmaAll([0, 1], 0))).toEqual([
      { ok: false, errno: 'EFAULT', fault: 'vtd0: no-pasid-entry' },
      { ok: false, errno: 'EFAULT', fault: 'vtd0: no-pasid-entry' },
    ]);
    w.run({ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 });
    // The clear entry is taken for one never set up: no descriptor, and no PRQ drain either.
    expect(w.takeQueue(0)).toEqual([]);
    expect(dev_iommu_priv_get(w.world.devices[0]!).pasid_table!.entries()).toEqual([]);
  });

  test('with the proposed fix release leaves FPD; DMA then faults silently; unbind clears it and drains', () => {
    const w = vtdWorld(seedThreadTopology(), ['vtd-release-fpd-lost', 'vtd-iopf-remove-nonpri']);
    w.run(...populated(2), ...bindAll([0, 1]), ...dmaAll([0, 1], 0));
    w.run({ kind: 'exit', mm: 0 });
    for (const dev of [0, 1]) {
      const e = dev_iommu_priv_get(w.world.devices[dev]!).pasid_table!.read(1);
      expect(e).toMatchObject({ present: false, fpd: true });
    }
    expect(w.run(...dmaAll([0, 1], 0))).toEqual([
      { ok: false, errno: 'EFAULT', fault: 'vtd0: fault-disabled' },
      { ok: false, errno: 'EFAULT', fault: 'vtd0: fault-disabled' },
    ]);
    expect(w.world.kernel.mem.takeAnomalies()).toEqual([]);
    w.takeQueue();
    w.run({ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 });
    // The FPD entry is just cleared: nothing was cached from it, so no descriptor.
    expect(w.takeQueue(0)).toEqual([]);
    expect(dev_iommu_priv_get(w.world.devices[0]!).pasid_table!.entries()).toEqual([]);
    expect(w.world.mms[0]!.iommu_mm!.pasid).toBe(1);
    expect(w.world.core.warnings).toEqual([]);
  });

  test('a second bind of the same device shares the handle; DMA works until the last unbind', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0, 0]));
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(w.run(...dmaAll([0], 0))[0]).toMatchObject({ ok: true });
    w.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(w.run(...dmaAll([0], 0))[0]).toEqual({ ok: false, errno: 'EFAULT', fault: 'vtd0: no-pasid-entry' });
  });
});

describe('the VT-d leak check', () => {
  test('is clean while bound, after exit, and once everything is unbound and dropped (findings fixed)', () => {
    const w = vtdWorld(seedThreadTopology(2), FINDING_NAMES);
    w.run(...populated(2), ...bindAll([0, 1, 4]), ...dmaAll([0, 1, 4], 0), { kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(findLeaks(w.world)).toEqual([]);
    w.run({ kind: 'exit', mm: 0 });
    expect(findLeaks(w.world)).toEqual([]);
    w.run({ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 }, { kind: 'unbind', dev: 4, mm: 0 },
      { kind: 'mmdrop', mm: 0 }, { kind: 'gracePeriod' });
    expect(findLeaks(w.world)).toEqual([]);
    expect(w.world.core.pasidIda.size).toBe(0);
  });

  test('reports a PASID entry and tags no attached domain accounts for', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0, 1]));
    w.domainOf(0).cache_tags[0]!.users = 5;
    dev_iommu_priv_get(w.world.devices[2]!).pasid_table!.allocLeaf(7);
    dev_iommu_priv_get(w.world.devices[2]!).pasid_table!.write(7, { present: true, fpd: false, pgtt: 'FL', flptr: 1, slptr: 0, did: 1, levels: 4 });
    expect(intel_leak_check(w.world.iommus, w.world.devices)).toEqual([
      'dev2 PASID 7: present entry without an attached domain',
      'domain 0: tag IOTLB dmar0 pasid=1 has 5 users, 2 expected',
    ]);
  });
});
