/**
 * The harness runner behind `sva-harness run` and `replay` (src/harness/runner.ts HarnessRunner).
 * Each platform's budget is one search (search.ts: chunks of runs, one seed each); a fault
 * runs only on the platforms whose impl holds it.
 */
import { join } from 'node:path';
import type { HarnessRunner, PlatformRunSummary, RunOptions, RunSummary } from '../src/harness/index.js';
import { replayTrace } from '../src/harness/index.js';
import type { FaultId, Platform } from '../src/shared/index.js';
import { failSitesOf } from '../src/shared/index.js';
import { CoverageRecorder } from '../src/spec/index.js';
import { type Checked, bad, good, traceFileName, writeTrace } from '../src/trace/index.js';
import { parseFault, platformsForFault, replayOptions } from './fault.js';
import { type SearchBudget, searchForViolation } from './search.js';
import { RunStats } from './stats.js';
import { topologyFor } from './topology.js';

/** The seed CI and a bare `sva-harness run` use. */
export const DEFAULT_SEED = 1729;

interface PlatformResult {
  readonly summary: PlatformRunSummary;
  readonly trace?: string;
}

const runPlatform = (platform: Platform, opts: RunOptions, seed: number, fault: FaultId | undefined): Checked<PlatformResult> => {
  const stats = new RunStats();
  const coverage = new CoverageRecorder();
  const budget: SearchBudget = opts.budget.kind === 'runs' ? { runs: opts.budget.runs } : { seconds: opts.budget.seconds };
  let elapsedMs = 0;
  const report = (done: number, violations: number): void =>
    opts.progress?.({ platform, runs: stats.runs, steps: stats.steps, violations, done, elapsedMs });
  const started = performance.now();
  const out = searchForViolation({
    topologies: topologyFor(platform, opts.topology), seed, budget, stats, coverage,
    ...(fault === undefined ? {} : { fault }),
    ...(opts.fixes === undefined ? {} : { fixes: opts.fixes }),
    afterRun: (_s, done) => {
      elapsedMs = performance.now() - started;
      report(done, 0);
    },
  });
  elapsedMs = out.elapsedMs;
  if (out.error !== undefined) return bad(`${platform}: ${out.error}`);
  let tracePath: string | undefined;
  if (out.counterexample !== undefined) {
    const written = writeTrace(join(opts.tracesDir, traceFileName(out.counterexample)), out.counterexample);
    if (!written.ok) return written;
    tracePath = written.value;
  }
  report(1, tracePath === undefined ? 0 : 1);
  const { covered, total } = coverage.count();
  return good({
    summary: {
      platform, runs: stats.runs, steps: stats.steps, distinctCommands: stats.distinctKinds(),
      transitionsCovered: covered, transitionsTotal: total, violations: tracePath === undefined ? 0 : 1,
      known: [...stats.known].map(([finding, runs]) => ({ finding, runs })), elapsedMs,
      sitesFailed: failSitesOf(platform).filter((site) => stats.failedSites.has(site)),
      sitesTotal: failSitesOf(platform).length,
    },
    ...(tracePath === undefined ? {} : { trace: tracePath }),
  });
};

export const harnessRunner: HarnessRunner = {
  run(opts: RunOptions): Checked<RunSummary> {
    // The CLI has validated the name; a programmatic caller may not have.
    const fault = opts.fault === undefined ? undefined : parseFault(opts.fault);
    if (fault !== undefined && !fault.ok) return fault;
    const chosen = platformsForFault(fault?.value, opts.platforms);
    if (!chosen.ok) return chosen;
    const seed = opts.seed ?? DEFAULT_SEED;
    const platforms: PlatformRunSummary[] = [];
    const traces: string[] = [];
    for (const platform of chosen.value) {
      const r = runPlatform(platform, opts, seed, fault?.value);
      if (!r.ok) return r;
      platforms.push(r.value.summary);
      if (r.value.trace !== undefined) traces.push(r.value.trace);
    }
    const fixes = opts.fixes === undefined || opts.fixes.length === 0 ? {} : { fixes: opts.fixes };
    return good({ seed, ...(fault === undefined ? {} : { fault: fault.value }), ...fixes, platforms, traces });
  },

  replay(trace) {
    const opts = replayOptions(trace);
    if (!opts.ok) return opts;
    const r = replayTrace(trace, opts.value);
    // A recorded violation that now replays clean is a known upstream finding's trace
    // (regressions/upstream/): show it as the violation it is.
    if (r.ok && trace.violation !== undefined && r.value.trace.violation === undefined) return replayTrace(trace, { ...opts.value, strict: true });
    return r;
  },
};
