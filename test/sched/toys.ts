/** Toy kernels for the scheduler tests: a bare kernel and task bodies with plain preempt points. */
import { coreOf, createKernel } from '../../src/impl/core/kernel.js';
import { type Co, preemptPoint } from '../../src/impl/core/sched.js';
import type { Kernel } from '../../src/impl/core/types.js';

export function toyKernel(): Kernel {
  return createKernel({ platform: 'vtd', iommus: [], devices: [], mms: 1, pages: 1, kpages: 1, ptLevels: 4 });
}

export const warnings = (kernel: Kernel): readonly string[] => coreOf(kernel).warnings;

const step = preemptPoint('toy step');

/** A task of `points` preempt points that logs its name at every step. */
export function* stepper(name: string, points: number, log: string[]): Co<string> {
  for (let i = 0; i < points; i++) {
    log.push(`${name}${i}`);
    yield step;
  }
  log.push(`${name}${points}`);
  return name;
}

const betweenReadAndWrite = preemptPoint('counter: between load and store');

/** counter++ as load, preempt point, store: the lost update of two unlocked incrementers. */
export function* increment(c: { n: number }): Co {
  const v = c.n;
  yield betweenReadAndWrite;
  c.n = v + 1;
}

const binom = (n: number, k: number): number => {
  if (k < 0 || k > n) return 0;
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
};

/**
 * Schedules of two tasks of m steps each with at most c preemptions. A schedule is a word over
 * {a, b} with m of each; with j maximal blocks it has j − 1 context switches, one of which is
 * free (after the task that finishes first), so j − 2 preemptions. Words with j blocks: both
 * starting letters, ceil(j/2) blocks of the first letter and floor(j/2) of the other, each a
 * composition of m: C(m−1, ceil(j/2)−1)·C(m−1, floor(j/2)−1).
 */
export function twoTaskSchedules(m: number, c: number): number {
  let total = 0;
  for (let j = 2; j <= c + 2 && j <= 2 * m; j++) total += 2 * binom(m - 1, Math.ceil(j / 2) - 1) * binom(m - 1, Math.floor(j / 2) - 1);
  return total;
}
