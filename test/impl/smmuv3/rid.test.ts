import { describe, expect, test } from 'vitest';
import { runSequence } from '../../../src/harness/index.js';
import { defaultTopology, iovaToken, type Command } from '../../../src/shared/index.js';
import { dev_iommu_priv_get, to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';

const attachRid = (dev: number, hwpt: number): Command => ({ kind: 'attachPasid', dev, hwpt, pasid: 0 });
const map = (page: number): Command => ({ kind: 'iommuMap', hwpt: 1, page, write: true });
const dma = (dev: number, page: number): Command => ({ kind: 'dmaIova', dev, hwpt: 1, page, write: false });

/** Every checked step clean (spec, invariants); the session. */
const clean = (cmds: readonly Command[]) => {
  const r = runSequence(defaultTopology('smmuv3'), cmds, { strict: true });
  if (!r.ok) throw new Error(r.error);
  expect(r.value.session.violation).toBeUndefined();
  return r.value.session;
};

describe('RID attach of a stage-1 paging domain (SMMUv3, arm_smmu_attach_dev)', () => {
  test('CD 0 in the domain\'s form, a CD-table STE with S1DSS = SSID0, a master_domain at SSID 0 with ATS on', () => {
    const s = clean([attachRid(0, 1), map(0), dma(0, 0)]);
    const master = dev_iommu_priv_get(s.world.devices[0]!);
    const d = to_smmu_domain(s.world.hwpts[1]!.domain!);
    const ste = master.smmu.unit.streamTable.read(0);
    expect(ste).toMatchObject({ v: true, config: 's1', s1dss: 'ssid0', eats: true });
    expect(master.cd_table.table!.read(0)).toMatchObject({ v: true, asid: d.cd.asid, ttb0: d.pgtbl!.radix.root });
    expect(d.devices.map((md) => `${md.master.dev.id}/${md.ssid}`)).toEqual(['0/0']);
    expect([d.nr_ats_masters, master.ats_enabled, master.sid_domain]).toEqual([1, true, 'PAGING']);
    expect(s.steps[2]!.actual).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
  });

  test('the unmap: TLBI by ASID, then an ATC_INV without SSV; the next DMA faults', () => {
    const s = clean([attachRid(0, 1), map(0), dma(0, 0), { kind: 'iommuUnmap', hwpt: 1, page: 0 }, dma(0, 0)]);
    expect(s.steps[4]!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(s.world.devices[0]!.hw.atcEntries()).toEqual([]);
  });

  test('detach: abort STE, CD 0 cleared, the master_domain gone and ATS off; beside an SVA bind the STE keeps its CD table with S1DSS terminate', () => {
    const s = clean([attachRid(0, 1), { kind: 'detachPasid', dev: 0, hwpt: 1 }]);
    const master = dev_iommu_priv_get(s.world.devices[0]!);
    expect(master.smmu.unit.streamTable.read(0)).toMatchObject({ v: true, config: 'abort' });
    expect(master.cd_table.table!.read(0).v).toBe(false);
    expect(to_smmu_domain(s.world.hwpts[1]!.domain!).nr_ats_masters).toBe(0);
    expect([master.ats_enabled, master.sid_domain]).toEqual([false, 'BLOCKED']);
    const bound = clean([attachRid(0, 1), { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'detachPasid', dev: 0, hwpt: 1 }]);
    const m2 = dev_iommu_priv_get(bound.world.devices[0]!);
    expect(m2.smmu.unit.streamTable.read(0)).toMatchObject({ config: 's1', s1dss: 'terminate', eats: true });
  });

  test('-EINVAL for a HWPT finalised on another SMMU; -EBUSY for the first claim while an SVA bind holds a PASID', () => {
    const s = clean([attachRid(0, 1), attachRid(2, 1), { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 1, mm: 0 }, attachRid(1, 1)]);
    expect(s.steps[1]!.actual).toEqual({ ok: false, errno: 'EINVAL' });
    expect(s.steps[4]!.actual).toEqual({ ok: false, errno: 'EBUSY' });
  });

  test('a failed CD-table allocation leaves the RID as it was (blocked after the claim)', () => {
    const s = clean([{ kind: 'failNext', site: 'dma_alloc_coherent@arm_smmu_alloc_cd_tables' }, attachRid(0, 1), attachRid(0, 1)]);
    expect(s.steps.map((x) => x.actual.ok)).toEqual([true, false, true]);
  });
});
