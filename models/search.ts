/**
 * One platform's search for a violation under a budget: the budget is spent in chunks of
 * runs, each chunk one fast-check property on its own seed (base seed + chunk index), so a
 * time budget and a run budget walk the same sequences in the same order and a
 * counterexample names the seed that reproduces it. `sva-harness run` and findFault (the
 * fault tests and the benchmark) both search through here, so they find the same thing.
 */
import type fc from 'fast-check';
import type { IommuDriver } from '../src/impl/index.js';
import type { FaultId, FindingName, Topology } from '../src/shared/index.js';
import type { CoverageRecorder } from '../src/spec/index.js';
import type { Trace } from '../src/trace/index.js';
import type { GroupOptions } from './groups.js';
import { type Generator, checkProperty } from './property.js';
import { RunStats } from './stats.js';
import type { Weights } from './weights.js';
import type { StepWatch } from '../src/harness/index.js';

/** Runs per fast-check property: the granularity of a time budget. */
export const CHUNK_RUNS = 25;

/** At least one of the two; the search stops at whichever is spent first. */
export interface SearchBudget {
  readonly runs?: number;
  readonly seconds?: number;
}

export interface SearchOptions {
  readonly topologies: fc.Arbitrary<Topology>;
  readonly seed: number;
  readonly budget: SearchBudget;
  readonly fault?: FaultId;
  /** Proposed fixes of known upstream findings switched on. */
  readonly fixes?: readonly FindingName[];
  /** Test-only: a driver other than the platform's. */
  readonly driver?: IommuDriver;
  readonly weights?: Weights;
  readonly generator?: Generator;
  readonly swarm?: number;
  readonly groups?: GroupOptions;
  readonly maxCommands?: number;
  readonly stats?: RunStats;
  readonly coverage?: CoverageRecorder;
  /** After every run (shrinking included): the fraction of the budget spent, 0..1. */
  readonly afterRun?: (stats: RunStats, done: number) => void;
  /** Part i of n (1-based): the chunks k with k mod n = i - 1 (see sliceRuns). */
  readonly slice?: SearchSlice;
  /** Asked before each chunk: true ends the search there. */
  readonly shouldStop?: () => boolean;
  readonly watch?: StepWatch;
}

export interface SearchSlice {
  readonly index: number;
  readonly count: number;
}

const WHOLE: SearchSlice = { index: 1, count: 1 };

/**
 * The runs slice i of n does out of a whole search of `runs`: chunk k (seed base + k) holds
 * min(CHUNK_RUNS, runs - k * CHUNK_RUNS) runs, and the slice takes every n-th chunk from
 * k = i - 1. Slices are disjoint, together they are the whole search, and no two differ by
 * more than one chunk.
 */
export const sliceRuns = (runs: number, slice: SearchSlice): number => {
  let total = 0;
  for (let k = slice.index - 1; k * CHUNK_RUNS < runs; k += slice.count) total += Math.min(CHUNK_RUNS, runs - k * CHUNK_RUNS);
  return total;
};

export interface SearchResult {
  readonly stats: RunStats;
  /** Generated runs, shrinking excluded: up to the first failure, or the whole budget. */
  readonly runs: number;
  readonly counterexample?: Trace;
  /** A failure that produced no trace (a harness bug): one line. */
  readonly error?: string;
  /** Runs up to and including the first failing one. */
  readonly runsToFailure?: number;
  /** The invariant the first failing run broke (shrinking may end on another). */
  readonly firstInvariant?: string;
  /** Wall time to the end of the first failing run; the rest of `elapsedMs` is shrinking. */
  readonly msToFailure?: number;
  readonly elapsedMs: number;
}

/** Wall time for budgets and measurements only; never for a decision about what a run does. */
const now = (): number => performance.now();

export const searchForViolation = (opts: SearchOptions): SearchResult => {
  const stats = opts.stats ?? new RunStats();
  const { runs: maxRuns = Infinity, seconds = Infinity } = opts.budget;
  if (maxRuns === Infinity && seconds === Infinity) throw new Error('searchForViolation: a budget needs runs or seconds');
  const started = now();
  const base = stats.runs;
  let runs = 0;
  let first: { runs: number; ms: number; invariant: string } | undefined;
  const slice = opts.slice ?? WHOLE;
  const mine = maxRuns === Infinity ? Infinity : sliceRuns(maxRuns, slice);
  const done = (): number => (mine === 0 ? 1 : Math.min(1, Math.max(runs / mine, (now() - started) / (seconds * 1000))));
  for (let chunk = slice.index - 1; done() < 1 && chunk * CHUNK_RUNS < maxRuns && opts.shouldStop?.() !== true; chunk += slice.count) {
    const out = checkProperty({
      topologies: opts.topologies,
      seed: (opts.seed + chunk) | 0,
      numRuns: Math.min(CHUNK_RUNS, maxRuns - chunk * CHUNK_RUNS),
      ...(opts.watch === undefined ? {} : { watch: opts.watch }),
      stats,
      ...(opts.coverage === undefined ? {} : { coverage: opts.coverage }),
      ...(opts.driver === undefined ? {} : { driver: opts.driver }),
      ...(opts.fault === undefined ? {} : { fault: opts.fault }),
      ...(opts.fixes === undefined ? {} : { fixes: opts.fixes }),
      ...(opts.weights === undefined ? {} : { weights: opts.weights }),
      ...(opts.generator === undefined ? {} : { generator: opts.generator }),
      ...(opts.swarm === undefined ? {} : { swarm: opts.swarm }),
      ...(opts.groups === undefined ? {} : { groups: opts.groups }),
      ...(opts.maxCommands === undefined ? {} : { maxCommands: opts.maxCommands }),
      afterRun: (s, violation) => {
        if (first === undefined) {
          runs = s.runs - base;
          if (violation !== undefined) first = { runs, ms: now() - started, invariant: violation.invariant };
        }
        opts.afterRun?.(s, done());
      },
    });
    if (out.error !== undefined) return { stats, runs, error: out.error, elapsedMs: now() - started };
    if (out.counterexample !== undefined) {
      // afterRun always sees the failing run (checkProperty calls it in a finally).
      const f = first ?? { runs, ms: now() - started, invariant: out.counterexample.violation?.invariant ?? '' };
      return {
        stats, runs: f.runs, counterexample: out.counterexample,
        runsToFailure: f.runs, firstInvariant: f.invariant, msToFailure: f.ms, elapsedMs: now() - started,
      };
    }
  }
  return { stats, runs, elapsedMs: now() - started };
};
