import type { SchedulerName } from '../sched/types.js';
import type { FailSite, FaultId, FindingName, IopfCounts, Platform } from '../shared/index.js';
import type { Checked, Trace } from '../trace/index.js';
import type { StepWatch } from './watch.js';

/**
 * The runner contract, owned by the harness. The CLI parses and validates everything, then
 * calls one of these; an implementation (models/ for random search) generates, steps spec and
 * impl, checks the invariants and writes traces. The CLI never imports an implementation: the
 * entry point (bin/sva-harness.mjs) injects one. Both methods report bad input (an unknown fault
 * name, a trace whose commands break a precondition) as `{ ok: false, error }`: one line,
 * exit code 2. A violation is not an error: it is in the result.
 */
export interface HarnessRunner {
  run(opts: RunOptions): Checked<RunSummary>;
  /** The seed a run without `seed` uses (so a supervisor can name it before the run ends). */
  readonly defaultSeed?: number;
  /**
   * Re-execute `trace.commands` on `trace.topology` with the trace's fault (no fast-check
   * involved). A fault the runner cannot re-create (a test-only one) is refused.
   */
  replay(trace: Trace): Checked<ReplayResult>;
}

export type Budget = { readonly kind: 'runs'; readonly runs: number } | { readonly kind: 'time'; readonly seconds: number };

/** How each run's topology is chosen. Overrides pin one dimension in either mode. */
export interface TopologyChoice {
  /** `random`: drawn by the topology arbitraries; `default`: `defaultTopology(platform)`. */
  readonly mode: 'random' | 'default';
  readonly iommus?: number;
  readonly devicesPerIommu?: number;
  readonly mms?: number;
  readonly pages?: number;
  readonly ptLevels?: 4 | 5;
}

export interface RunOptions {
  /** Run each, in this order, each with the whole budget. */
  readonly platforms: readonly Platform[];
  readonly topology: TopologyChoice;
  /** fast-check seed; undefined = the harness's fixed default seed (the one CI uses). */
  readonly seed?: number;
  readonly budget: Budget;
  /** Folder for counterexample traces (created on first write). */
  readonly tracesDir: string;
  /**
   * One historical bug from the corpus switched on (src/shared/fault.ts). The platforms are
   * narrowed to those the fault applies to; none left, or a name not in the corpus (from a
   * programmatic caller), is refused.
   */
  readonly fault?: FaultId;
  /**
   * Proposed fixes of known upstream findings to switch on (src/shared/finding.ts). A finding
   * whose fix is on is no longer excused: if it still fires, the run fails.
   */
  readonly fixes?: readonly FindingName[];
  /**
   * Concurrent groups (issue 11): the share of generated steps that run 2–3 commands as one
   * group (checkedGroup), the scheduler that interleaves them, PCT's d, and the exhaustive
   * scheduler's preemption bound. Absent: every command runs to completion in turn, as before
   * (byte-identical traces for the same seed).
   */
  readonly concurrency?: {
    readonly groupRate: number;
    readonly scheduler: SchedulerName;
    readonly depth?: number;
    readonly preemptions?: number;
  };
  /** Called now and then with counts; the CLI draws the progress bar (progress.ts). */
  readonly progress?: (p: Progress) => void;
  /**
   * Part `index` (1-based) of `count` of the search: each platform's search is cut into
   * chunks of runs (one seed each), and slice i takes every chunk k with k mod n = i - 1, so
   * n slices cover exactly the runs of one unsliced search, disjoint and balanced. The run
   * budget is the whole search's (each slice does its share); a time budget is per slice.
   */
  readonly slice?: { readonly index: number; readonly count: number };
  /** Called as soon as a trace is written, before the run goes on (the CLI lists them if stopped). */
  readonly onTrace?: (path: string) => void;
  /** Asked between chunks of runs: true ends the search there, with the counts so far. */
  readonly shouldStop?: () => boolean;
  /** The CLI's watchdog over every checked step (src/harness/watch.ts). */
  readonly watch?: StepWatch;
  /** A test-only fault registered in models/testFaults.ts: programmatic callers (tests) only. */
  readonly testFault?: string;
}

/** What the progress bar shows; the runner reports it, the CLI renders it. */
export interface Progress {
  readonly platform: Platform;
  readonly runs: number;
  readonly steps: number;
  readonly violations: number;
  /** Fraction of this platform's budget used, 0..1. */
  readonly done: number;
  readonly elapsedMs: number;
  /** Coverage so far (PlatformRunSummary's), so a run stopped from outside still reports it. */
  readonly distinctCommands?: number;
  readonly transitionsCovered?: number;
  readonly transitionsTotal?: number;
  /** Known upstream findings met so far (PlatformRunSummary's), for the same reason. */
  readonly known?: PlatformRunSummary['known'];
  /** Fault-injection sites failed so far (PlatformRunSummary's), for the same reason. */
  readonly sitesFailed?: readonly FailSite[];
  /** The I/O page-fault protocol parts reached so far (PlatformRunSummary's). */
  readonly iopf?: IopfCounts;
}

export interface PlatformRunSummary {
  readonly platform: Platform;
  readonly runs: number;
  /** Checked steps: commands executed with every invariant evaluated. */
  readonly steps: number;
  /** Command kinds executed at least once, out of COMMAND_KINDS.length. */
  readonly distinctCommands: number;
  /** Spec machine transitions taken at least once, out of transitionsTotal. */
  readonly transitionsCovered: number;
  readonly transitionsTotal: number;
  readonly violations: number;
  /**
   * Known upstream findings met (docs/upstream-findings.md) and in how many runs: reported, but
   * they do not count as violations and leave the exit code alone.
   */
  readonly known: readonly { readonly finding: FindingName; readonly runs: number }[];
  /** The I/O page-fault protocol parts the runs reached, summed over runs (shrinking included). */
  readonly iopf: IopfCounts;
  /** Wall time, for steps/s only. */
  readonly elapsedMs: number;
  /** Fault-injection sites of the platform failed at least once (src/shared/failSite.ts), of sitesTotal. */
  readonly sitesFailed: readonly FailSite[];
  readonly sitesTotal: number;
  /** Why this platform's search ended before its budget: a signal, the hard time bound, a hung step. */
  readonly stopped?: StopReason;
}

export type StopReason = 'SIGINT' | 'SIGTERM' | 'time' | 'lockup';

export interface RunSummary {
  /** The seed actually used, so the run can be repeated. */
  readonly seed: number;
  /** Set when the run was stopped from outside (a signal, the hard time bound). */
  readonly stopped?: StopReason;
  /** The fault the run had switched on, if any. */
  readonly fault?: FaultId;
  /** The proposed fixes the run had switched on, if any. */
  readonly fixes?: readonly FindingName[];
  readonly platforms: readonly PlatformRunSummary[];
  /** Traces written, one per violation found. */
  readonly traces: readonly string[];
  /** Things the user must know that are not violations: a trace written to a fallback place. */
  readonly notes?: readonly string[];
  /** A violation whose trace could be written nowhere: the whole trace, for the CLI to print. */
  readonly unwritten?: readonly Trace[];
}

export interface ReplayResult {
  /** The trace as re-executed: its commands, fresh observations and events, the violation hit. */
  readonly trace: Trace;
  /** Abstract state (plain JSON) before and after the failing step, for the state diff. */
  readonly stateBefore?: unknown;
  readonly stateAfter?: unknown;
  /**
   * The trace replayed clean with the known findings excused, and this is its re-run with them
   * reported (how an upstream finding's trace shows its finding). Its violation may then not be
   * the recorded one: a trace recorded before an oracle mend shows a known finding instead.
   */
  readonly excusedClean?: true;
}
