/**
 * One model suite: a fast-check property over command sequences with every invariant on,
 * expected to find nothing on the correct impl. Prints one line (steps, runs, elapsed and the
 * generation measurements) so CI logs show how much was checked.
 */
import type fc from 'fast-check';
import { expect } from 'vitest';
import { RunStats, checkProperty } from '../../models/index.js';
import type { Topology } from '../../src/shared/index.js';
import { CoverageRecorder } from '../../src/spec/index.js';
import { formatTimeline } from '../../src/trace/index.js';
import { reportCounterexample } from '../setup/counterexamples.js';
import { recordSuiteSteps } from '../setup/stepTotals.js';
import { suiteRuns } from './budget.js';

/** `soakRuns` is the soak's budget; `npm test` runs half of it (budget.ts). */
export const runSuite = (name: string, topologies: fc.Arbitrary<Topology>, seed: number, soakRuns: number): RunStats => {
  const numRuns = suiteRuns(soakRuns);
  const stats = new RunStats();
  const coverage = new CoverageRecorder();
  const started = performance.now();
  const out = checkProperty({ topologies, seed, numRuns, stats, coverage });
  const elapsed = (performance.now() - started) / 1000;
  const { covered, total } = coverage.count();
  console.log(`[models] ${name}: seed ${seed}: ${stats.steps} checked steps in ${stats.runs} runs, ${elapsed.toFixed(1)} s ` +
    `(${Math.round(stats.steps / elapsed)} steps/s); executed ${(stats.executedFraction() * 100).toFixed(1)}% of generated; ` +
    `lengths [${stats.formatLengths()}]; transitions ${covered}/${total}`);
  recordSuiteSteps(name, stats.steps);
  expect(out.error).toBeUndefined();
  if (out.counterexample?.violation !== undefined) {
    console.log(formatTimeline(out.counterexample));
    reportCounterexample(out.counterexample);
  }
  return stats;
};
