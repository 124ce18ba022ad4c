/**
 * The harness runner behind `sva-harness run` and `replay` (src/harness/runner.ts HarnessRunner).
 * Each platform's budget is one search (search.ts: chunks of runs, one seed each); a fault
 * runs only on the platforms whose impl holds it. A run budget is each platform's; a time
 * budget is the whole run's, shared equally by the platforms.
 */
import type { HarnessRunner, PlatformRunSummary, RunOptions, RunSummary } from '../src/harness/index.js';
import { driverFor, replayTrace } from '../src/harness/index.js';
import type { FaultId, Platform } from '../src/shared/index.js';
import { failSitesOf } from '../src/shared/index.js';
import { CoverageRecorder } from '../src/spec/index.js';
import { type Checked, type Trace, bad, good, saveTrace } from '../src/trace/index.js';
import { parseFault, platformsForFault, replayOptions } from './fault.js';
import { GROUP_SCHEDULERS, type GroupOptions, type GroupScheduler } from './groups.js';
import { testFaultDriver } from './testFaults.js';
import { type SearchBudget, searchForViolation } from './search.js';
import { RunStats } from './stats.js';
import { topologyFor } from './topology.js';

/** The seed CI and a bare `sva-harness run` use. */
export const DEFAULT_SEED = 1729;

interface PlatformResult {
  readonly summary: PlatformRunSummary;
  readonly trace?: string;
  readonly note?: string;
  readonly unwritten?: Trace;
}

/**
 * RunOptions.concurrency as the generator's groups. Its scheduler is the harness's
 * SchedulerName; the generator also takes `mix` (half PCT, half random), which the CLI passes
 * through it; `exhaustive` is a per-group search (explore-schedules), not a generator's.
 */
const groupsOf = (c: RunOptions['concurrency']): Checked<GroupOptions | undefined> => {
  if (c === undefined || c.groupRate <= 0) return good(undefined);
  const scheduler = c.scheduler as string;
  if (!(GROUP_SCHEDULERS as readonly string[]).includes(scheduler)) return bad(`scheduler '${scheduler}' cannot drive generated groups (random, pct or mix)`);
  return good({ rate: c.groupRate, scheduler: scheduler as GroupScheduler, ...(c.depth === undefined ? {} : { depth: c.depth }) });
};

const runPlatform = (platform: Platform, opts: RunOptions, seed: number, fault: FaultId | undefined, seconds: number | undefined): Checked<PlatformResult> => {
  const stats = new RunStats();
  const groups = groupsOf(opts.concurrency);
  if (!groups.ok) return groups;
  const coverage = new CoverageRecorder();
  const budget: SearchBudget = opts.budget.kind === 'runs' ? { runs: opts.budget.runs } : { seconds: seconds ?? opts.budget.seconds };
  const wrap = opts.testFault === undefined ? undefined : testFaultDriver(opts.testFault);
  if (opts.testFault !== undefined && wrap === undefined) return bad(`test-only fault '${opts.testFault}' is not registered`);
  let elapsedMs = 0;
  const report = (done: number, violations: number): void => {
    if (opts.progress === undefined) return;
    const { covered, total } = coverage.count();
    opts.progress({
      platform, runs: stats.runs, steps: stats.steps, violations, done, elapsedMs,
      distinctCommands: stats.distinctKinds(), transitionsCovered: covered, transitionsTotal: total,
      known: [...stats.known].map(([finding, runs]) => ({ finding, runs })), iopf: { ...stats.iopf },
      sitesFailed: failSitesOf(platform).filter((site) => stats.failedSites.has(site)),
    });
  };
  const started = performance.now();
  const out = searchForViolation({
    topologies: topologyFor(platform, opts.topology), seed, budget, stats, coverage,
    ...(fault === undefined ? {} : { fault }),
    ...(wrap === undefined ? {} : { driver: wrap(driverFor(platform)) }),
    ...(opts.slice === undefined ? {} : { slice: opts.slice }),
    ...(groups.value === undefined ? {} : { groups: groups.value }),
    ...(opts.shouldStop === undefined ? {} : { shouldStop: opts.shouldStop }),
    ...(opts.watch === undefined ? {} : { watch: opts.watch }),
    ...(opts.fixes === undefined ? {} : { fixes: opts.fixes }),
    afterRun: (_s, done) => {
      elapsedMs = performance.now() - started;
      report(done, 0);
    },
  });
  elapsedMs = out.elapsedMs;
  if (out.error !== undefined) return bad(`${platform}: ${out.error}`);
  let saved: { path?: string; note?: string } = {};
  if (out.counterexample !== undefined) {
    saved = saveTrace(out.counterexample, opts.tracesDir);
    if (saved.path !== undefined) opts.onTrace?.(saved.path);
  }
  const violations = out.counterexample === undefined ? 0 : 1;
  report(1, violations);
  const { covered, total } = coverage.count();
  return good({
    summary: {
      platform, runs: stats.runs, steps: stats.steps, distinctCommands: stats.distinctKinds(),
      transitionsCovered: covered, transitionsTotal: total, violations,
      known: [...stats.known].map(([finding, runs]) => ({ finding, runs })), iopf: { ...stats.iopf }, elapsedMs,
      sitesFailed: failSitesOf(platform).filter((site) => stats.failedSites.has(site)),
      sitesTotal: failSitesOf(platform).length,
      // Not yet a PlatformRunSummary field (src/harness/runner.ts): the CLI reads it as ScheduledSummary.
      ...(groups.value === undefined ? {} : { schedule: { ...stats.sched } }),
    },
    ...(saved.path === undefined ? {} : { trace: saved.path }),
    ...(saved.note === undefined ? {} : { note: `${platform}: ${saved.note}` }),
    ...(saved.path === undefined && out.counterexample !== undefined ? { unwritten: out.counterexample } : {}),
  });
};

export const harnessRunner: HarnessRunner = {
  defaultSeed: DEFAULT_SEED,
  run(opts: RunOptions): Checked<RunSummary> {
    // The CLI has validated the name; a programmatic caller may not have.
    const fault = opts.fault === undefined ? undefined : parseFault(opts.fault);
    if (fault !== undefined && !fault.ok) return fault;
    const chosen = platformsForFault(fault?.value, opts.platforms);
    if (!chosen.ok) return chosen;
    const seed = opts.seed ?? DEFAULT_SEED;
    const platforms: PlatformRunSummary[] = [];
    const traces: string[] = [];
    const notes: string[] = [];
    const unwritten: Trace[] = [];
    // A time budget is the whole run's: each platform gets an equal share of what is left.
    const started = performance.now();
    for (const [i, platform] of chosen.value.entries()) {
      const left = opts.budget.kind === 'time' ? opts.budget.seconds - (performance.now() - started) / 1000 : undefined;
      const r = runPlatform(platform, opts, seed, fault?.value, left === undefined ? undefined : Math.max(left, 0.001) / (chosen.value.length - i));
      if (!r.ok) return r;
      platforms.push(r.value.summary);
      if (r.value.trace !== undefined) traces.push(r.value.trace);
      if (r.value.note !== undefined) notes.push(r.value.note);
      if (r.value.unwritten !== undefined) unwritten.push(r.value.unwritten);
      if (opts.shouldStop?.() === true) break;
    }
    const fixes = opts.fixes === undefined || opts.fixes.length === 0 ? {} : { fixes: opts.fixes };
    return good({
      seed, ...(fault === undefined ? {} : { fault: fault.value }), ...fixes, platforms, traces,
      ...(notes.length === 0 ? {} : { notes }), ...(unwritten.length === 0 ? {} : { unwritten }),
    });
  },

  replay(trace) {
    const opts = replayOptions(trace);
    if (!opts.ok) return opts;
    const r = replayTrace(trace, opts.value);
    // A recorded violation that now replays clean is a known upstream finding's trace
    // (regressions/upstream/): show it as the violation it is.
    if (!r.ok || trace.violation === undefined || r.value.trace.violation !== undefined) return r;
    const strict = replayTrace(trace, { ...opts.value, strict: true });
    return strict.ok ? good({ ...strict.value, excusedClean: true }) : strict;
  },
};
