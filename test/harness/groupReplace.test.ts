import { describe, expect, test } from 'vitest';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import { LIN_ID, type MemberTask, exploreGroup, groupLegal, runSequence } from '../../src/harness/index.js';
import { runChecked } from '../../src/harness/group.js';
import type { Co } from '../../src/impl/core/sched.js';
import { randomPolicy, replayPolicy } from '../../src/sched/policies.js';
import { implTask } from '../../src/impl/dispatch.js';
import type { World } from '../../src/impl/index.js';
import { defaultTopology, faultKindOf, formatToken, sameObservation } from '../../src/shared/index.js';
import type { Command, FaultId, Observation } from '../../src/shared/index.js';

/**
 * The oracle on R05's race (c3b1edea3791, CVE-2026-45945): a replace of PASID 5 from the
 * second-stage hwpt 0 to the first-stage hwpt 1, against the device's DMA at PASID 5. Both
 * HWPTs map IOVA page 0 (different buffers), so the DMA's result says which entry it went
 * through: hwpt 0's buffer, hwpt 1's, or a non-present PASID entry inside mainline's window.
 * No DMA at PASID 5 before the group: the PASID cache is cold, so the device fetches the entry.
 */
const t = defaultTopology('vtd');
const PASID = 5;
const PREFIX: readonly Command[] = [
  { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: PASID },
  // hwpt 1's domain is allocated and mapped by an attach elsewhere, then detached: the replace needs it free in the group.
  { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 6 },
  { kind: 'iommuMap', hwpt: 0, page: 0, write: false },
  { kind: 'iommuMap', hwpt: 1, page: 0, write: false },
  { kind: 'detachPasid', dev: 0, hwpt: 1 },
];
const REPLACE: Command = { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 };
const DMA: Command = { kind: 'dmaPasid', dev: 0, pasid: PASID, page: 0, write: false };
const GROUP: readonly Command[] = [REPLACE, DMA];

const sessionAfter = (fault?: FaultId, task?: MemberTask) => {
  const r = runSequence(t, PREFIX, { ...(fault === undefined ? {} : { fault }), ...(task === undefined ? {} : { task }) });
  if (!r.ok) throw new Error(r.error);
  const s = r.value.session;
  expect(s.violation).toBeUndefined();
  return s;
};

/**
 * Every schedule with at most k preemptions (to the first violation, unless `all`); what the
 * group's DMA returned on each, by fault kind (or token), and on how many LIN fired.
 */
const exploreOutcomes = (k: number, fault?: FaultId, all = false) => {
  const seen = new Map<string, number>();
  let lin: string | undefined;
  let lins = 0;
  const r = explorePreemptionBounded((policy) => {
    const s = sessionAfter(fault);
    const c = runChecked(s, GROUP, policy, { scheduler: 'exhaustive', seed: 0 });
    const dma = s.steps.at(-1)!.actual;
    const key = dma.ok ? formatToken(dma.value!) : (faultKindOf(dma.fault) ?? dma.fault!);
    seen.set(key, (seen.get(key) ?? 0) + 1);
    if (c.found.length > 0) lin ??= c.found.map((v) => `${v.invariant}: ${v.message}`).join('\n');
    if (c.found.some((v) => v.invariant === LIN_ID)) lins++;
    return { run: c.run!, bad: !all && c.found.length > 0 };
  }, k, 10_000);
  return { ...r, seen: Object.fromEntries([...seen].sort()), lin, lins };
};

describe('sameObservation compares fault kinds', () => {
  const f = (fault: string): Observation => ({ ok: false, errno: 'EFAULT', fault });
  test('a torn entry walking a wrong table is not the window\'s non-present entry; the unit and the spec\'s words do not matter', () => {
    expect(faultKindOf('vtd0: not-present')).toBe('translation-not-present');
    expect(faultKindOf('PASID entry torn down by the replace')).toBe('pasid-not-present');
    expect(sameObservation(f('PASID entry torn down by the replace'), f('vtd0: not-present'))).toBe(false);
    expect(sameObservation(f('PASID entry torn down by the replace'), f('vtd1: no-pasid-entry'))).toBe(true);
    expect(sameObservation(f('IOVA read-only'), f('vtd0: no-permission'))).toBe(true);
    expect(sameObservation(f('IOVA read-only'), f('vtd0: not-present'))).toBe(false);
    // An SMMUv3 stream with no CD table and an exited mm's EPD0 CD are the spec's "no PASID context".
    expect(sameObservation(f('not bound'), f('smmu0: stream-abort'))).toBe(true);
    expect(sameObservation(f('mm exited'), f('smmu1: fault-disabled'))).toBe(true);
    expect(sameObservation(f('no PASID capability'), f('dev3: no-pasid-cap'))).toBe(true);
  });

  test('text that names no kind compares by errno, as before; a value never equals a fault', () => {
    expect(faultKindOf('threw: BUG')).toBeUndefined();
    expect(faultKindOf('constructor')).toBeUndefined();
    expect(sameObservation(f('threw: BUG'), f('vtd0: not-present'))).toBe(true);
    expect(sameObservation({ ok: false, errno: 'ENODEV' }, f('vtd0: not-present'))).toBe(false);
    expect(sameObservation({ ok: true, value: 3 }, f('not bound'))).toBe(false);
  });
});

describe('LIN over {replacePasid, dmaPasid} on VT-d (R05)', () => {
  test('the group is legal in both orders, and the spec gives the DMA the old buffer, the new one, or (in the window) a non-present entry', () => {
    const s = sessionAfter();
    expect(groupLegal(s.spec, GROUP)).toBe(true);
    // A dmaIova names a HWPT: hwpt 1 is not attached before the replace, hwpt 0 not after it.
    expect(groupLegal(s.spec, [REPLACE, { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false }])).toBe(false);
  });

  test('mainline, k = 2: every schedule is linearizable; some DMAs fault in the window, which an atomic replace could not explain', () => {
    const r = exploreOutcomes(2);
    expect(r.lin).toBeUndefined();
    expect(r).toMatchObject({ complete: true, found: undefined });
    // The schedule count and what the DMA saw over them (the tree is fixed: a change is a change of the port).
    // 126 until the replace held &igroup->lock (iommufd_device_change_pt): its acquire and release are yield points.
    expect(r.schedules).toBe(132);
    expect(r.seen).toEqual({ 'hwpt0.iova0#1': expect.any(Number), 'hwpt1.iova0#1': expect.any(Number), 'pasid-not-present': expect.any(Number) });
    expect(exploreGroup(t, PREFIX, GROUP, 2, 10_000)).toEqual({ schedules: 132, complete: true, found: undefined, invariant: undefined });
  });

  test('R05 on: LIN fires on the torn schedule, and prints the history and the spec\'s window orders', () => {
    const r = exploreOutcomes(1, 'R05');
    expect(r.found?.switches).toHaveLength(1);
    expect(r.lin).toBeDefined();
    const msg = r.lin!;
    expect(msg.startsWith(`${LIN_ID}: no sequential order`)).toBe(true);
    // The DMA went through the torn entry (new val[0], old FLPTR 0): a walk that finds nothing.
    expect(msg).toMatch(/dev1 \(hw\) dmaPasid\(d0,pasid 5,p0,r\): points \d+\.\.\d+, returned EFAULT \(vtd0: not-present\)/);
    expect(msg).toMatch(/cpu0 ; dev1: cpu0 ok, dev1 hwpt1\.iova0#1/);
    expect(msg).toMatch(/dev1 ; cpu0: dev1 hwpt0\.iova0#1, cpu0 ok/);
    expect(msg).toContain('cpu0.1 ; dev1 ; cpu0.2: dev1 EFAULT (PASID entry torn down by the replace), cpu0 ok');
    // Replaying the found schedule gives the same LIN.
    const again = sessionAfter('R05');
    const found = runChecked(again, GROUP, replayPolicy({ switches: r.found!.switches }), { scheduler: 'replay', seed: 0, switches: r.found!.switches }).found;
    expect(found.map((v) => v.invariant)).toEqual([LIN_ID]);
  });

  test('R05 on, k = 2, every schedule: LIN fires exactly where the DMA went through a torn entry', () => {
    const r = exploreOutcomes(2, 'R05', true);
    expect(r.complete).toBe(true);
    expect(r.seen['translation-not-present']).toBeGreaterThan(0);
    expect(r.lins).toBe(r.seen['translation-not-present']);
    // The in-place write never shows a non-present entry (P stays set throughout).
    expect(r.seen['pasid-not-present']).toBeUndefined();
  });

  test('a crafted history only a torn entry gives (a translation fault at a PASID whose both entries map the page) is LIN; the window\'s fault is not', () => {
    const lie = (fault: string): MemberTask => function* (world: World, cmd: Command): Co<Observation> {
      const o = yield* implTask(world, cmd);
      return cmd.kind === 'dmaPasid' ? { ok: false, errno: 'EFAULT', fault } : o;
    };
    const sched = { scheduler: 'random', seed: 5 } as const;
    const torn = sessionAfter(undefined, lie('vtd0: not-present'));
    expect(runChecked(torn, GROUP, randomPolicy(sched.seed), sched).found.map((v) => v.invariant)).toEqual([LIN_ID]);
    const windowed = sessionAfter(undefined, lie('vtd0: no-pasid-entry'));
    expect(runChecked(windowed, GROUP, randomPolicy(sched.seed), sched).found).toEqual([]);
    // Sequentially (no window to linearize into) the same non-present fault is a mismatch.
    const seq = sessionAfter(undefined, lie('vtd0: no-pasid-entry'));
    const one = runChecked(seq, [DMA, { kind: 'dmaPasid', dev: 1, pasid: PASID, page: 0, write: false }], randomPolicy(1), sched);
    expect(one.found.map((v) => v.invariant)).toEqual([LIN_ID]);
  });
});

