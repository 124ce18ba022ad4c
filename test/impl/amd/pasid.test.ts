import { describe, expect, test } from 'vitest';
import { sync } from '../../../src/impl/core/sched.js';
import type { AmdCmd, AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { amdIommuDriver } from '../../../src/impl/amd/iommu.js';
import { pdom_ids } from '../../../src/impl/amd/pdomIds.js';
import { dev_iommu_priv_get, to_pdomain, type AmdIommu } from '../../../src/impl/amd/structs.js';
import { createWorld, implStep, type World } from '../../../src/impl/index.js';
import type { Command, DeviceSpec, FindingName, Topology } from '../../../src/shared/index.js';
import { userVpn } from '../../../src/shared/index.js';
import { runSequence } from '../../../src/harness/index.js';

const dev = (iommu: number, group: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({ iommu, group, pasidBits: 20, ats: true, pri: false, ...over });
const topology = (devices: DeviceSpec[] = [dev(0, 0), dev(0, 1, { ats: false }), dev(1, 2), dev(1, 3, { pasidBits: 0 })]): Topology => ({
  platform: 'amd',
  iommus: [{ pasidBits: 4, didBits: 8, asidBits: 4, rangeInv: true }, { pasidBits: 4, didBits: 8, asidBits: 4, rangeInv: true }],
  devices, mms: 2, pages: 4, kpages: 1, ptLevels: 4,
});

function world(t = topology()) {
  const w = createWorld(t, amdIommuDriver);
  const log: AmdCmd[][] = w.iommus.map(() => []);
  w.iommus.forEach((iommu, i) => {
    (iommu.unit as AmdIommuUnit).observer = { onSubmit: (_u, c) => log[i]!.push(c) };
  });
  const run = (...cmds: Command[]) => cmds.map((c) => implStep(w, c));
  const take = (i = 0): string[] => log[i]!.splice(0).map((c) => c.kind);
  return { w, run, take };
}

const live = (_w: World, slot: number, pages = 2) => [
  { kind: 'spawn', mm: slot } as const,
  { kind: 'mmap', mm: slot, first: 0, count: 4, prot: 'rw' } as const,
  ...Array.from({ length: pages }, (_, page) => ({ kind: 'touch', mm: slot, page, write: true }) as const),
];

describe('AMD SVA (amd/pasid.c, v6.19-rc)', () => {
  test('boot: max_pasids = 2^(PASmax+1) - 1, a GCR3 table and a domain ID per PASID-capable device, PPR only with PRI', () => {
    const { w } = world();
    expect((w.iommus[0] as AmdIommu).max_pasids).toBe(15);
    expect(w.devices.map((d) => dev_iommu_priv_get(d).gcr3_info.domid)).toEqual([2, 3, 4, 0]);
    expect(pdom_ids(w.kernel)).toEqual([1, 2, 3, 4]);
    const dte = (w.iommus[0]!.unit as AmdIommuUnit).devTable.get(0);
    expect(dte).toMatchObject({ v: true, tv: true, gv: true, giov: false, glx: 0, domid: 2, ppr: false, iotlb: true });
  });

  test('a device without PASID sits in the identity domain by a passthrough DTE, as set_dte_passthrough evaluates', () => {
    const { w } = world(topology([dev(0, 0, { pasidBits: 0, ats: false })]));
    // `FIELD_PREP(DOMID, id) | (ats) ? IOTLB : 0`: no domain ID, and the I bit although the device has no ATS.
    expect((w.iommus[0]!.unit as AmdIommuUnit).devTable.get(0)).toMatchObject({ v: true, tv: true, gv: false, domid: 0, iotlb: true });
  });

  test('one SVA domain per mm across both IOMMUs; each attachment flushes through its own device', () => {
    const { w, run, take } = world();
    run(...live(w, 0));
    expect(run({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 2, mm: 0 })).toEqual([{ ok: true, value: 1 }, { ok: true, value: 1 }]);
    const mm = w.mms[0]!;
    expect(mm.iommu_mm!.sva_domains).toHaveLength(1);
    const pdom = to_pdomain(mm.iommu_mm!.sva_domains[0]!);
    expect(pdom.dev_data_list.map((p) => p.dev_data.dev.id)).toEqual([2, 0]);
    expect(dev_iommu_priv_get(w.devices[2]!).gcr3_info.gcr3_tbl!.fetch(1)).toEqual({ valid: true, cr3: mm.pgd.pgd });
    expect(w.devices[2]!.hw.dma(1, userVpn(0), false).ok).toBe(true);
    take(0);
    take(1);
    run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(take(0)).toEqual(['INVALIDATE_IOMMU_PAGES', 'INVALIDATE_IOTLB_PAGES', 'COMPLETION_WAIT']);
    expect(take(1)).toEqual(['INVALIDATE_IOMMU_PAGES', 'INVALIDATE_IOTLB_PAGES', 'COMPLETION_WAIT']);
  });

  test('set_dev_pasid refuses a replacement, PASID 0, a PASID beyond the device and a device without PASID', () => {
    const { w, run, take } = world();
    run(...live(w, 0), { kind: 'bind', dev: 0, mm: 0 });
    const domain = w.mms[0]!.iommu_mm!.sva_domains[0]!;
    take();
    expect(sync(w.kernel, domain.ops.set_dev_pasid(domain, w.devices[1]!, 1, domain))).toBe('EOPNOTSUPP');
    expect(sync(w.kernel, domain.ops.set_dev_pasid(domain, w.devices[1]!, 0, undefined))).toBe('EINVAL');
    expect(sync(w.kernel, domain.ops.set_dev_pasid(domain, w.devices[1]!, 15, undefined))).toBe('EINVAL');
    expect(sync(w.kernel, domain.ops.set_dev_pasid(domain, w.devices[3]!, 1, undefined))).toBe('EINVAL');
    expect(take()).toEqual([]);
  });

  test('exit while bound: release clears every GCR3 entry of the domain and empties its list; unbind then flushes nothing', () => {
    const { w, run, take } = world();
    run(...live(w, 0), { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 1, mm: 0 });
    const pdom = to_pdomain(w.mms[0]!.iommu_mm!.sva_domains[0]!);
    take();
    run({ kind: 'exit', mm: 0 });
    expect(pdom.dev_data_list).toEqual([]);
    expect(dev_iommu_priv_get(w.devices[0]!).gcr3_info.gcr3_tbl!.fetch(1)?.valid).toBe(false);
    expect(w.devices[0]!.hw.dma(1, userVpn(0), false)).toMatchObject({ ok: false, fault: 'amd0: no-pasid-entry' });
    expect(take().filter((k) => k === 'INVALIDATE_IOMMU_PAGES').length).toBeGreaterThanOrEqual(2);
    run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(take()).toEqual([]);
  });

  test('the domain free is synchronous: the last unbind of a dropped mm frees it at once, no grace period', () => {
    const { w, run } = world();
    run(...live(w, 0), { kind: 'bind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 }, { kind: 'mmdrop', mm: 0 });
    const mm = w.mms[0]!;
    expect(mm.freed).toBe(false);
    const ids = pdom_ids(w.kernel).length;
    run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(mm.freed).toBe(true);
    expect(w.kernel.srcuCallbacks).toEqual([]);
    expect(pdom_ids(w.kernel)).toHaveLength(ids - 1);
    expect(w.core.pasidIda.size).toBe(0);
  });

  test('a PRI device: the miss goes to the PPR log, serviceFaults answers it with COMPLETE_PPR_REQUEST and the retry completes', () => {
    const { w, run, take } = world(topology([dev(0, 0, { pri: true })]));
    expect((w.iommus[0]!.unit as AmdIommuUnit).devTable.get(0).ppr).toBe(true);
    run({ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 });
    take();
    expect(run({ kind: 'dma', dev: 0, mm: 0, page: 2, write: true })).toEqual([{ ok: true }]);
    expect((w.iommus[0]!.unit as AmdIommuUnit).pprLog.pending).toHaveLength(1);
    expect(run({ kind: 'serviceFaults' })).toEqual([{ ok: true, value: 1 }]);
    expect(take()).toContain('COMPLETE_PPR_REQUEST');
    expect(w.devices[0]!.hw.priState!.completions[0]).toMatchObject({ code: 'success', ok: true });
  });
});

describe('AMD protection-domain IDs run out', () => {
  test('15 IDs, 13 taken at boot (identity + 12 GCR3 tables): a third mm\'s bind is -ENOMEM, as the spec predicts', () => {
    const t: Topology = {
      ...topology(Array.from({ length: 12 }, (_, i) => dev(0, i))),
      iommus: [{ pasidBits: 4, didBits: 4, asidBits: 4, rangeInv: true }], mms: 3,
    };
    const cmds: Command[] = [
      { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'spawn', mm: 1 }, { kind: 'bind', dev: 0, mm: 1 },
      { kind: 'spawn', mm: 2 }, { kind: 'bind', dev: 0, mm: 2 },
      { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'bind', dev: 0, mm: 2 },
    ];
    const r = runSequence(t, cmds);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    expect(r.value.session.steps.map((s) => s.actual)).toEqual([
      { ok: true }, { ok: true, value: 1 }, { ok: true }, { ok: true, value: 2 },
      { ok: true }, { ok: false, errno: 'ENOMEM' }, { ok: true }, { ok: true, value: 3 },
    ]);
  });
});

describe('finding amd-remove-pasid-no-iopf-flush: amd_iommu_remove_dev_pasid flushes no page request', () => {
  const pri = topology([dev(0, 0, { pri: true })]);
  const bound: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }];
  const boot = (fixes: readonly FindingName[] = []) => {
    const w = createWorld(pri, amdIommuDriver, undefined, { fixes });
    const run = (...cmds: Command[]) => cmds.map((c) => implStep(w, c));
    return { w, run, ppr: (w.iommus[0]!.unit as AmdIommuUnit).pprLog };
  };

  test('mainline: the unbind returns with the request still in the PPR log, unanswered, and notes the finding', () => {
    const { w, run, ppr } = boot();
    run(...bound, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    expect(w.kernel.findingHits).toEqual([]);
    run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(ppr.pending).toHaveLength(1);
    expect(w.devices[0]!.hw.priState!.outstanding).toHaveLength(1);
    expect(w.kernel.findingHits).toEqual(['amd-remove-pasid-no-iopf-flush']);
  });

  test('mainline with nothing pending (the PPR thread ran first): the unbind notes nothing', () => {
    const { w, run } = boot();
    run(...bound, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'serviceFaults' }, { kind: 'unbind', dev: 0, mm: 0 });
    expect(w.kernel.findingHits).toEqual([]);
  });

  test('the proposed fix: the unbind polls the PPR log and flushes the IOPF queue, so the request is answered before it returns', () => {
    const { w, run, ppr } = boot(['amd-remove-pasid-no-iopf-flush']);
    run(...bound, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'unbind', dev: 0, mm: 0 });
    expect(ppr.pending).toEqual([]);
    expect(w.devices[0]!.hw.priState!.outstanding).toEqual([]);
    expect(w.devices[0]!.hw.priState!.completions).toHaveLength(1);
    expect(w.kernel.findingHits).toEqual([]);
  });
});
