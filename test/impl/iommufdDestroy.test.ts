import { describe, expect, test } from 'vitest';
import { checkedStep, openSession, type Session } from '../../src/harness/index.js';
import { defaultTopology, iovaToken, iovaVpn } from '../../src/shared/index.js';
import type { Command, Observation, Platform } from '../../src/shared/index.js';
import type { SmmuCmd, SmmuV3 } from '../../src/hw/smmuv3/index.js';
import { to_dmar_domain } from '../../src/impl/vtd/dmar.js';
import { to_smmu_domain } from '../../src/impl/smmuv3/structs.js';
import { noStaleTranslation } from '../../properties/hardware/noStaleTranslation.js';
import { bench, setup, wrapSubmit } from '../properties/hardware/helpers.js';

/** Run commands with every invariant on; each must hold. Returns the session and each step's observation. */
const run = (platform: Platform, cmds: readonly Command[]): { s: Session; obs: Observation[] } => {
  const s = openSession(defaultTopology(platform));
  const obs = cmds.map((c) => {
    expect(checkedStep(s, c)).toEqual([]);
    return s.steps[s.steps.length - 1]!.actual;
  });
  return { s, obs };
};

const EBUSY = { ok: false, errno: 'EBUSY' };

describe('IOMMU_DESTROY of a HWPT (iommufd.ts destroyHwpt)', () => {
  test('VT-d: -EBUSY while attached; then the mappings, the page table and the buffers go, and a new HWPT starts empty', () => {
    const { s, obs } = run('vtd', [
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true },
      { kind: 'destroyHwpt', hwpt: 1 },
    ]);
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(obs[3]).toEqual(EBUSY);
    const domain = s.world.hwpts[1]!.domain!;
    const root = to_dmar_domain(domain).pgtable!.radix.root;
    const buffer = s.world.hwpts[1]!.frames[0]!;
    for (const c of [{ kind: 'detachPasid', dev: 0, hwpt: 1 }, { kind: 'destroyHwpt', hwpt: 1 }] as const) expect(checkedStep(s, c)).toEqual([]);
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true });
    expect(domain.freed).toBe(true);
    expect(s.world.hwpts[1]!.domain).toBeUndefined();
    const mem = s.world.kernel.mem;
    expect([mem.kind(root), mem.kind(buffer)]).toEqual(['free', 'free']);
    expect(s.spec.hwpts[1]!.allocated).toBe(false);
    // The next attach allocates a fresh domain over an empty IOAS: page 0 is no longer mapped.
    for (const c of [{ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 }, { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: false }] as const) {
      expect(checkedStep(s, c)).toEqual([]);
    }
    expect(s.world.hwpts[1]!.domain).not.toBe(domain);
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
  });

  test('VT-d: the nest parent is -EBUSY while the nested HWPT lives; the nested one goes alone, keeping the guest table', () => {
    const { s, obs } = run('vtd', [
      { kind: 'attachPasid', dev: 0, hwpt: 2, pasid: 4 },
      { kind: 'detachPasid', dev: 0, hwpt: 2 },
      { kind: 'destroyHwpt', hwpt: 0 },
      { kind: 'guestMap', page: 1, gpa: 2, write: false },
      { kind: 'destroyHwpt', hwpt: 2 },
    ]);
    expect(obs[2]).toEqual(EBUSY);
    expect(obs[4]).toEqual({ ok: true });
    const guest = s.world.hwpts[2]!.guest!;
    expect(guest).toBeDefined();
    expect(s.spec.hwpts[0]!.allocated).toBe(true);
    // The guest's leaf survives in guest RAM: guestUnmap needs the nested HWPT again.
    expect(checkedStep(s, { kind: 'attachPasid', dev: 0, hwpt: 2, pasid: 4 })).toEqual([]);
    expect(s.world.hwpts[2]!.guest).toBe(guest);
    expect(guest.lookup(iovaVpn(1))).not.toBe(0);
    for (const c of [{ kind: 'detachPasid', dev: 0, hwpt: 2 }, { kind: 'destroyHwpt', hwpt: 2 }, { kind: 'destroyHwpt', hwpt: 0 }] as const) {
      expect(checkedStep(s, c)).toEqual([]);
      expect(s.steps.at(-1)!.actual).toEqual({ ok: true });
    }
    // The nest parent's IOAS held the guest's RAM: the guest's table pages went with it.
    expect(s.world.hwpts[2]!.guest).toBeUndefined();
    const mem = s.world.kernel.mem;
    for (const frame of guest.tables.values()) expect(mem.kind(frame)).toBe('free');
    expect(s.spec.hwpts[2]!.pte.every((p) => p === 0)).toBe(true);
  });

  test('SMMUv3: the free flushes the ASID (free_io_pgtable_ops) and gives it back to arm_smmu_asid_xa', () => {
    const { s } = run('smmuv3', [
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true },
      { kind: 'detachPasid', dev: 0, hwpt: 1 },
    ]);
    const smmu_domain = to_smmu_domain(s.world.hwpts[1]!.domain!);
    const asid = smmu_domain.cd.asid;
    const unit = s.world.iommus[0]!.unit as SmmuV3;
    const before = unit.counters.get('cmdq.TLBI_NH_ASID');
    expect(checkedStep(s, { kind: 'destroyHwpt', hwpt: 1 })).toEqual([]);
    expect(unit.counters.get('cmdq.TLBI_NH_ASID')).toBe(before + 1);
    expect(smmu_domain.smmu.asid_xa.xa_load(asid)).toBeUndefined();
    expect(s.spec.asids.has(asid)).toBe(false);
  });
});

describe('A paging-domain free without its TLB flush (crafted)', () => {
  // smallTopology (helpers.ts): dev0 behind smmu0 with ATS. The IOVA page and the user page of
  // index 0 are one virtual page, so an SVA bond that takes the freed domain's ASID looks up
  // what the paging domain's DMA left in the TLB and the walk cache.
  test('I6 fires at the free (entries tagged with a free ASID), and again when an SVA bind reuses the ASID and its DMA hits them', () => {
    const b = bench('smmuv3');
    b.run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 }, { kind: 'iommuMap', hwpt: 1, page: 0, write: true });
    b.run({ kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true }, { kind: 'detachPasid', dev: 0, hwpt: 1 });
    const paging = to_smmu_domain(b.world.hwpts[1]!.domain!);
    const asid = paging.cd.asid;
    const unit = b.world.iommus[0]!.unit as SmmuV3;
    wrapSubmit<SmmuCmd>(unit, (c, submit) => (c.kind === 'TLBI_NH_ASID' ? undefined : submit(c)));
    b.run({ kind: 'destroyHwpt', hwpt: 1 });
    expect(b.check(noStaleTranslation).map((v) => v.message)).toContainEqual(expect.stringContaining(`tagged with ASID ${asid}, which is free`));
    setup(b, 0, [0], [0]);
    // The bind's SVA domain took the lowest free ASID: the one just freed.
    expect(paging.smmu.asid_xa.xa_load(asid)?.domain.type).toBe('SVA');
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    // The walk cache still holds the freed domain's table pointers under that ASID: the SVA
    // DMA walks them instead of mm0's tables, and faults where the spec reads the page.
    expect(b.check(noStaleTranslation).map((v) => v.message)).toContainEqual(expect.stringContaining(`ASID ${asid} level 1`));
    expect(b.ctx.actual.ok).toBe(false);
    expect(b.ctx.expected.ok).toBe(true);
  });

  test('with the flush, the same sequence is clean', () => {
    const b = bench('smmuv3');
    b.run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 }, { kind: 'iommuMap', hwpt: 1, page: 0, write: true });
    b.run({ kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true }, { kind: 'detachPasid', dev: 0, hwpt: 1 });
    b.run({ kind: 'destroyHwpt', hwpt: 1 });
    setup(b, 0, [0], [0]);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    expect(b.check(noStaleTranslation)).toEqual([]);
    expect(b.ctx.actual.ok).toBe(true);
  });
});
