import { describe, expect, test } from 'vitest';
import { checkedStep, excuseKnown, openSession, runSequence } from '../../src/harness/index.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';
import { type Command, type Topology, defaultTopology } from '../../src/shared/index.js';

const vtd = defaultTopology('vtd');
const vtdPri: Topology = { ...vtd, devices: vtd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
const BIND_UNBIND: readonly Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }];

describe('Known upstream findings at the checked step (src/harness/known.ts)', () => {
  test('A known finding is recorded, not failed; its splat leaves the kernel log; a strict session fails on it', () => {
    const r = runSequence(vtd, [...BIND_UNBIND, { kind: 'gracePeriod' }, { kind: 'bind', dev: 0, mm: 0 }]);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.known).toEqual([{ finding: 'vtd-iopf-remove-nonpri', step: 2, invariants: ['I-SPLAT'] }]);
    expect(s.world.core.warnings).toEqual([]);
    expect(s.commands).toHaveLength(5);
    const strict = runSequence(vtd, BIND_UNBIND, { strict: true });
    expect(strict.ok && strict.value.session.violation).toMatchObject({ invariant: 'I-SPLAT', step: 2 });
    expect(strict.ok && strict.value.session.known).toEqual([]);
  });

  test('Another violation in the same step still fails the run (B15 with the finding: I-QUEUE stays)', () => {
    const r = runSequence(vtd, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'unplug', dev: 0 }], { fault: 'B15' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toMatchObject({ invariant: 'I-QUEUE', step: 2 });
    expect(r.value.session.known).toEqual([{ finding: 'vtd-iopf-remove-nonpri', step: 2, invariants: ['I-SPLAT'] }]);
  });

  test('The same violation without the finding\'s path in the step is not excused (a WARN of another kind)', () => {
    // The SMMUv3 driver never takes the VT-d path: its splats are never the finding's.
    const r = runSequence(defaultTopology('smmuv3'), BIND_UNBIND);
    expect(r.ok && r.value.session.known).toEqual([]);
  });

  test('A path with a persistent excuse that ran in a step where nothing broke is met: a later step\'s matching violation is excused, another is not', () => {
    const s = openSession(defaultTopology('smmuv3'));
    const i11 = { invariant: 'I11', objects: {}, message: 'driver: dev0: 1 SSIDs still in use (valid CDs)' };
    // Before the path ran, the later report fails.
    expect(excuseKnown(s, 3, [i11])).toEqual([i11]);
    s.world.kernel.findingHits.push('smmuv3-release-vs-detach-cd');
    expect(excuseKnown(s, 4, [])).toEqual([]);
    expect(s.known).toEqual([{ finding: 'smmuv3-release-vs-detach-cd', step: 4, invariants: [] }]);
    s.world.kernel.findingHits.length = 0;
    expect(excuseKnown(s, 9, [i11])).toEqual([]);
    const other = { invariant: 'I11', objects: {}, message: 'ASID 1 still allocated in arm_smmu_asid_xa' };
    expect(excuseKnown(s, 9, [other])).toEqual([other]);
    // A finding with no persistent excuse is not recorded for a step where it explained nothing.
    const v = openSession(vtd);
    v.world.kernel.findingHits.push('vtd-iopf-remove-nonpri');
    expect(excuseKnown(v, 2, [])).toEqual([]);
    expect(v.known).toEqual([]);
  });

  test('A use-after-free of a handle the failed bind freed is no finding\'s: only a handle an unbind freed is excused', () => {
    const byUnbind = { invariant: 'I-SPLAT', objects: {}, message: 'kernel splat: BUG: KASAN: slab-use-after-free in iommu_sva_handle_iopf: attach handle 3 freed (PASID 1)' };
    const byBind = { invariant: 'I-SPLAT', objects: {}, message: 'kernel splat: BUG: KASAN: slab-use-after-free in iommu_sva_handle_iopf on attach handle 3, freed by the failed iommu_sva_bind_device (PASID 1)' };
    for (const finding of ['smmuv3-detach-no-iopf-flush', 'amd-remove-pasid-no-iopf-flush', 'vtd-release-fpd-lost'] as const) {
      const s = openSession(defaultTopology('smmuv3'));
      s.world.kernel.findingHits.push(finding);
      expect(excuseKnown(s, 5, [byUnbind, byBind])).toEqual([byBind]);
    }
  });

  test('With its fix switched on, the finding is gone; nothing is excused for it', () => {
    const r = runSequence(vtd, BIND_UNBIND, { strict: true, fixes: ['vtd-iopf-remove-nonpri'] });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test('vtd-release-fpd-lost: after exit the unbind skips the PRQ drain; the spec drained, so the run ends there, unfailed', () => {
    const cmds: Command[] = [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'exit', mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 },
      { kind: 'gracePeriod' },
    ];
    const r = runSequence(vtdPri, cmds);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.ended).toBe(true);
    expect(s.commands).toHaveLength(6);
    expect(s.known.map((k) => [k.finding, k.step])).toEqual([['vtd-release-fpd-lost', 4], ['vtd-release-fpd-lost', 5]]);
    expect(s.known[1]!.invariants).toContain('I-PRI-DRAIN');
    // The page request of the freed binding is still in the PRQ.
    expect((s.world.iommus[0]!.unit as VtdUnit).prq.hasPending(s.world.devices[0]!.hw.sid, 1)).toBe(true);
    const fixed = runSequence(vtdPri, cmds, { strict: true, fixes: ['vtd-release-fpd-lost'] });
    expect(fixed.ok && fixed.value.session.violation).toBeUndefined();
  });
});

describe('excuseKnown (loops, each finding met earlier asked once)', () => {
  test('A persistent excuse met on many steps still excuses; a violation it does not explain is still reported', () => {
    const s = openSession(vtd);
    // Bound on two devices, then exit: release leaves the entries without FPD (the finding), and
    // I5 says so on every later step until the unbinds.
    for (const c of [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 2, mm: 0 }, { kind: 'exit', mm: 0 }] as Command[]) {
      expect(checkedStep(s, c)).toEqual([]);
    }
    for (let i = 0; i < 6; i++) expect(checkedStep(s, { kind: 'gracePeriod' })).toEqual([]);
    // Strict, the same steps fail on I5: the excuse is doing the work above.
    const strict = openSession(vtd, { strict: true });
    const fired = ([{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 2, mm: 0 }, { kind: 'exit', mm: 0 }] as Command[])
      .flatMap((c) => checkedStep(strict, c).map((v) => v.invariant));
    expect(fired).toContain('I5');
    // Met once (the exit step); the later steps are excused by its persistent excuse.
    expect(s.known.map((k) => k.finding)).toEqual(['vtd-release-fpd-lost']);
    // Behind the harness's back: a handle's refcount drifts. Not the finding's: reported.
    s.world.fds[0]![0]!.handle.users += 3;
    const found = checkedStep(s, { kind: 'gracePeriod' });
    expect(found.map((v) => v.invariant)).toContain('I4');
    expect(found.every((v) => v.invariant !== 'I5')).toBe(true);
  });
});
