import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { beginSpecRun, endSpecRun, finalObservation, forkSpecRun, specInPoints, specRunKey, stepSpecRun } from '../../src/harness/specRun.js';
import type { LinPoint } from '../../src/sched/linearize.js';
import type { Command, Observation } from '../../src/shared/index.js';
import type { SpecState } from '../../src/spec/index.js';
import { GROUP, PREFIX, withPri } from './servicePassesGroup.js';

/** The group of groupServicePasses.test.ts: a page request beside serviceFaults, the device's credits held. */

const before = (): SpecState => {
  const pre = runSequence(withPri(), PREFIX);
  if (!pre.ok) throw new Error(pre.error);
  return pre.value.session.spec;
};

/** serviceFaults' points in order, with the prg's one point after `k` of them. */
const seqWithPrgAfter = (spec: SpecState, k: number): LinPoint[] => {
  const n = beginSpecRun(spec, GROUP, { early: 0 }).points[1]!;
  const seq: LinPoint[] = [];
  for (let p = 0; p < n; p++) {
    if (p === k) seq.push({ member: 0, point: 0 });
    seq.push({ member: 1, point: p });
  }
  if (k >= n) seq.push({ member: 0, point: 0 });
  return seq;
};

describe('the spec run a point at a time', () => {
  test('a run forked partway and stepped on elsewhere leaves the original to end as a run from scratch does', () => {
    const spec = before();
    const n = beginSpecRun(spec, GROUP, { early: 0 }).points[1]!;
    expect(n).toBeGreaterThan(2);
    const outcomes = new Set<string>();
    for (let k = 0; k <= n; k++) {
      const seq = seqWithPrgAfter(spec, k);
      const whole = specInPoints(spec, GROUP, seq, false, { early: 0 });
      expect(whole).toBeDefined();
      outcomes.add(JSON.stringify(whole));
      // Stepped to k points, forked; the fork runs the prg first, the original goes on as `seq`.
      const r = beginSpecRun(spec, GROUP, { early: 0 });
      const cut = Math.min(k, n - 1);
      for (const p of seq.slice(0, cut)) expect(stepSpecRun(r, GROUP, p)).toBe(true);
      const f = forkSpecRun(r);
      for (const p of seqWithPrgAfter(spec, 0).filter((p) => p.member === 0 || p.point >= cut)) stepSpecRun(f, GROUP, p);
      endSpecRun(f, GROUP);
      for (const p of seq.slice(cut)) expect(stepSpecRun(r, GROUP, p)).toBe(true);
      expect(endSpecRun(r, GROUP)).toEqual(whole);
    }
    // Where the request lands among the thread's points matters (answered, or left queued).
    expect(outcomes.size).toBeGreaterThan(1);
  });

  test("a member's observation is final at its last point, and the state before the group is never touched", () => {
    const spec = before();
    const snapshot = JSON.stringify(spec, (_, v: unknown) => (v instanceof Set ? [...v] : v));
    const seq = seqWithPrgAfter(spec, 1);
    const r = beginSpecRun(spec, GROUP, { early: 0 });
    let prgSeen: Observation | undefined;
    for (const p of seq) {
      stepSpecRun(r, GROUP, p);
      if (p.member === 0) prgSeen = finalObservation(r, GROUP, 0);
    }
    const obs = endSpecRun(r, GROUP)!;
    expect(prgSeen).toEqual(obs[0]);
    expect(JSON.stringify(spec, (_, v: unknown) => (v instanceof Set ? [...v] : v))).toBe(snapshot);
  });

  test('a failed precondition at a member\'s first point ends the run: no history', () => {
    const spec = before();
    // An unbind of a bond that does not exist is no legal call.
    const cmds: Command[] = [{ kind: 'unbind', dev: 1, mm: 0 }, { kind: 'serviceFaults' }];
    const r = beginSpecRun(spec, cmds, { early: 0 });
    expect(stepSpecRun(r, cmds, { member: 0, point: 0 })).toBe(false);
    expect(specInPoints(spec, cmds, [{ member: 0, point: 0 }, { member: 1, point: 0 }])).toBeUndefined();
  });

  test('the memo key: equal for equal runs, different when a point changed the state or the observations', () => {
    const spec = before();
    const a = beginSpecRun(spec, GROUP, { early: 0 });
    const b = beginSpecRun(spec, GROUP, { early: 0 });
    expect(specRunKey(a)).toBe(specRunKey(b));
    // The choice is part of it: another early count is another future.
    expect(specRunKey(beginSpecRun(spec, GROUP, { early: 1 }))).not.toBe(specRunKey(a));
    stepSpecRun(a, GROUP, { member: 0, point: 0 });
    expect(specRunKey(a)).not.toBe(specRunKey(b));
    stepSpecRun(b, GROUP, { member: 0, point: 0 });
    expect(specRunKey(a)).toBe(specRunKey(b));
    expect(specRunKey(forkSpecRun(a))).toBe(specRunKey(a));
  });
});
