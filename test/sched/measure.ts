/**
 * Throughput of the schedulers on toys (not a test: `node --import tsx test/sched/measure.ts`).
 * - runGroup: two tasks of 500 preempt points each (1000 points a group), random policy;
 * - the exhaustive explorer: two tasks of 3 preempt points, every schedule with ≤ 6 preemptions
 *   (all 70), and the ABBA deadlock search with real mutexes.
 */
import { performance } from 'node:perf_hooks';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import { runGroup } from '../../src/sched/group.js';
import { defaultPolicy, randomPolicy } from '../../src/sched/policies.js';
import type { Policy } from '../../src/sched/types.js';
import { stepper, toyKernel } from './toys.js';

function time(label: string, unit: string, f: () => number): void {
  for (let i = 0; i < 3; i++) f(); // warm up
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 2000) n += f();
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${Math.round(n / s).toLocaleString('en')} ${unit}/s`);
}

const kernel = toyKernel();
const log: string[] = [];
const group = (p: Policy) => {
  log.length = 0;
  return runGroup(kernel, [
    { name: 'A', kind: 'cpu', body: stepper('a', 499, log) },
    { name: 'B', kind: 'cpu', body: stepper('b', 499, log) },
  ], p).points;
};
time('runGroup, default policy, 1000-point group', 'points', () => group(defaultPolicy()));
let seed = 0;
time('runGroup, random policy, 1000-point group', 'points', () => group(randomPolicy(seed++)));
time('runGroup, random policy, record on', 'points', () => {
  log.length = 0;
  return runGroup(kernel, [
    { name: 'A', kind: 'cpu', body: stepper('a', 499, log) },
    { name: 'B', kind: 'cpu', body: stepper('b', 499, log) },
  ], randomPolicy(seed++), { record: true }).points;
});
const toy = (p: Policy) => {
  const l: string[] = [];
  const run = runGroup(toyKernel(), [
    { name: 'A', kind: 'cpu', body: stepper('a', 3, l) },
    { name: 'B', kind: 'cpu', body: stepper('b', 3, l) },
  ], p);
  return { run, bad: false };
};
time('exhaustive, two 4-step tasks, ≤ 6 preemptions (70 schedules)', 'schedules', () => explorePreemptionBounded(toy, 6, 1000).schedules);
