import { describe, expect, it } from 'vitest';
import { runGroup } from '../../src/sched/group.js';
import { pctPolicy, randomPolicy, replayPolicy } from '../../src/sched/policies.js';
import type { Policy } from '../../src/sched/types.js';
import { increment, stepper, toyKernel } from './toys.js';

const three = (p: Policy, points = 5) => {
  const log: string[] = [];
  const run = runGroup(toyKernel(), [
    { name: 'A', kind: 'cpu', body: stepper('a', points, log) },
    { name: 'B', kind: 'cpu', body: stepper('b', points, log) },
    { name: 'C', kind: 'cpu', body: stepper('c', points, log) },
  ], p);
  return { run, log };
};

const lostUpdate = (p: Policy): boolean => {
  const c = { n: 0 };
  runGroup(toyKernel(), [
    { name: 'A', kind: 'cpu', body: increment(c) },
    { name: 'B', kind: 'cpu', body: increment(c) },
  ], p);
  return c.n !== 2;
};

describe('random and PCT policies', () => {
  it('are deterministic from the seed, and different seeds give different schedules', () => {
    for (const mk of [(s: number) => randomPolicy(s), (s: number) => pctPolicy(s, 3, 18)]) {
      expect(three(mk(5)).log).toEqual(three(mk(5)).log);
      const distinct = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => three(mk(s)).log.join(' ')));
      expect(distinct.size).toBeGreaterThan(4);
    }
  });

  it('random: each run replays from its recorded schedule', () => {
    for (let seed = 0; seed < 20; seed++) {
      const a = three(randomPolicy(seed));
      expect(three(replayPolicy(a.run.schedule)).log).toEqual(a.log);
    }
  });

  it('PCT depth d preempts a never-blocking task at most d − 1 times (the change points)', () => {
    for (const d of [1, 2, 3]) {
      let most = 0;
      for (let seed = 0; seed < 50; seed++) most = Math.max(most, three(pctPolicy(seed, d, 18)).run.preemptions);
      expect(most).toBe(d - 1);
    }
  });

  it('PCT depth 1 runs the tasks one after another in a seeded priority order', () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const { log } = three(pctPolicy(seed, 1, 18), 2);
      const order = log.filter((x) => x.endsWith('0')).map((x) => x[0]).join('');
      expect(log.join(' ')).toBe(order.split('').map((t) => `${t}0 ${t}1 ${t}2`).join(' '));
      orders.add(order);
    }
    expect(orders.size).toBe(6);
  });

  it('PCT depth 2 finds the lost update at least as often as its bound 1/(n·k) = 1/8 promises', () => {
    // n = 2 tasks, k = 4 points (each increment: load, store; then two finishing steps).
    let found = 0;
    for (let seed = 0; seed < 400; seed++) if (lostUpdate(pctPolicy(seed, 2, 4))) found++;
    expect(found).toBeGreaterThanOrEqual(400 / 8);
    // Depth 1 never preempts, so it never loses the update.
    for (let seed = 0; seed < 50; seed++) expect(lostUpdate(pctPolicy(seed, 1, 4))).toBe(false);
  });
});
