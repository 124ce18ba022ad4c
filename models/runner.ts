/**
 * The harness runner behind `sva-harness run` and `replay` (src/cli/runner.ts HarnessRunner).
 * A platform's budget is spent in chunks of runs, each chunk one fast-check property on its
 * own seed (base seed + chunk index), so a time budget and a run budget walk the same
 * sequences in the same order, and a counterexample names the seed that reproduces it.
 */
import { join } from 'node:path';
import type { HarnessRunner, PlatformRunSummary, RunOptions, RunSummary } from '../src/cli/runner.js';
import { replayTrace } from '../src/harness/index.js';
import type { Platform } from '../src/shared/index.js';
import { CoverageRecorder } from '../src/spec/index.js';
import { type Checked, bad, good, traceFileName, writeTrace } from '../src/trace/index.js';
import { checkProperty } from './property.js';
import { RunStats } from './stats.js';
import { topologyFor } from './topology.js';

/** The seed CI and a bare `sva-harness run` use. */
export const DEFAULT_SEED = 1729;
/** Runs per fast-check property: the granularity of a time budget. */
export const CHUNK_RUNS = 25;

/** Wall time for budgets and steps/s only; never for a decision about what runs. */
const now = (): number => performance.now();

interface PlatformResult {
  readonly summary: PlatformRunSummary;
  readonly trace?: string;
}

const runPlatform = (platform: Platform, opts: RunOptions, seed: number): Checked<PlatformResult> => {
  const stats = new RunStats();
  const coverage = new CoverageRecorder();
  const topologies = topologyFor(platform, opts.topology);
  const started = now();
  const budget = opts.budget;
  const done = (): number =>
    budget.kind === 'runs' ? stats.runs / budget.runs : (now() - started) / (budget.seconds * 1000);
  const report = (violations: number): void =>
    opts.progress?.({ platform, runs: stats.runs, steps: stats.steps, violations, done: Math.min(1, done()), elapsedMs: now() - started });
  let tracePath: string | undefined;
  for (let chunk = 0; done() < 1; chunk++) {
    const numRuns = budget.kind === 'runs' ? Math.min(CHUNK_RUNS, budget.runs - stats.runs) : CHUNK_RUNS;
    const out = checkProperty({ topologies, seed: (seed + chunk) | 0, numRuns, stats, coverage, afterRun: () => report(0) });
    if (out.error !== undefined) return bad(`${platform}: ${out.error}`);
    if (out.counterexample !== undefined) {
      const path = join(opts.tracesDir, traceFileName(out.counterexample));
      const written = writeTrace(path, out.counterexample);
      if (!written.ok) return written;
      tracePath = written.value;
      break;
    }
  }
  report(tracePath === undefined ? 0 : 1);
  const { covered, total } = coverage.count();
  return good({
    summary: {
      platform, runs: stats.runs, steps: stats.steps, distinctCommands: stats.distinctKinds(),
      transitionsCovered: covered, transitionsTotal: total, violations: tracePath === undefined ? 0 : 1,
      elapsedMs: now() - started,
    },
    ...(tracePath === undefined ? {} : { trace: tracePath }),
  });
};

export const harnessRunner: HarnessRunner = {
  run(opts: RunOptions): Checked<RunSummary> {
    if (opts.fault !== undefined) return bad(`unknown fault '${opts.fault}' (no injected bug is registered yet)`);
    const seed = opts.seed ?? DEFAULT_SEED;
    const platforms: PlatformRunSummary[] = [];
    const traces: string[] = [];
    for (const platform of opts.platforms) {
      const r = runPlatform(platform, opts, seed);
      if (!r.ok) return r;
      platforms.push(r.value.summary);
      if (r.value.trace !== undefined) traces.push(r.value.trace);
    }
    return good({ seed, platforms, traces });
  },

  replay(trace) {
    if (trace.fault !== undefined) return bad(`unknown fault '${trace.fault}' (no injected bug is registered yet)`);
    return replayTrace(trace);
  },
};
