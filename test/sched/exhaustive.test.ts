import { describe, expect, it } from 'vitest';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import { runGroup } from '../../src/sched/group.js';
import { replayPolicy } from '../../src/sched/policies.js';
import type { Policy } from '../../src/sched/types.js';
import { increment, stepper, toyKernel, twoTaskSchedules } from './toys.js';

/** Two tasks of 3 preempt points (4 steps) each, on a fresh world per schedule. */
const twoSteppers = (logs: string[][]) => (p: Policy) => {
  const log: string[] = [];
  logs.push(log);
  const run = runGroup(toyKernel(), [
    { name: 'A', kind: 'cpu', body: stepper('a', 3, log) },
    { name: 'B', kind: 'cpu', body: stepper('b', 3, log) },
  ], p);
  return { run, bad: false };
};

/** Two unlocked counter++ on one counter: bad when an update was lost. */
const lostUpdate = (p: Policy) => {
  const c = { n: 0 };
  const run = runGroup(toyKernel(), [
    { name: 'A', kind: 'cpu', body: increment(c) },
    { name: 'B', kind: 'cpu', body: increment(c) },
  ], p);
  return { run, bad: c.n !== 2 };
};

describe('explorePreemptionBounded', () => {
  it('the closed form counts what it derives from: 70 interleavings of 4+4 steps in all', () => {
    expect(twoTaskSchedules(4, 6)).toBe(70);
    expect([0, 1, 2, 3].map((c) => twoTaskSchedules(4, c))).toEqual([2, 8, 26, 44]);
  });

  for (const c of [0, 1, 2, 3, 6]) {
    it(`explores exactly the ${twoTaskSchedules(4, c)} distinct schedules of two 4-step tasks with ≤ ${c} preemptions`, () => {
      const logs: string[][] = [];
      const e = explorePreemptionBounded(twoSteppers(logs), c, 10000);
      expect(e.complete).toBe(true);
      expect(e.found).toBeUndefined();
      expect(e.schedules).toBe(twoTaskSchedules(4, c));
      // Each run is a different interleaving (no schedule counted twice).
      expect(new Set(logs.map((l) => l.join(' '))).size).toBe(e.schedules);
    });
  }

  it('stops at the limit and says the exploration is incomplete', () => {
    const e = explorePreemptionBounded(twoSteppers([]), 6, 10);
    expect(e).toEqual({ schedules: 10, complete: false, found: undefined });
  });

  it('never finds the lost update without preemptions, finds it with one, and the schedule replays', () => {
    const none = explorePreemptionBounded(lostUpdate, 0, 1000);
    expect(none).toEqual({ schedules: 2, complete: true, found: undefined });
    const one = explorePreemptionBounded(lostUpdate, 1, 1000);
    expect(one.found).toBeDefined();
    expect(one.found!.switches).toHaveLength(1);
    expect(lostUpdate(replayPolicy(one.found!)).bad).toBe(true);
  });

  it('refuses a world that does not replay deterministically', () => {
    let flip = false;
    const flaky = (p: Policy) => {
      flip = !flip;
      // Every other run has a third task: the runnable set at point 0 differs from the last run's.
      const members = [
        { name: 'A', kind: 'cpu' as const, body: stepper('a', 1, []) },
        { name: 'B', kind: 'cpu' as const, body: stepper('b', 1, []) },
      ];
      if (!flip) members.push({ name: 'C', kind: 'cpu', body: stepper('c', 1, []) });
      const run = runGroup(toyKernel(), members, p);
      return { run, bad: false };
    };
    expect(() => explorePreemptionBounded(flaky, 1, 100)).toThrow(/not deterministic/);
  });
});
