/**
 * The fault tests' and the benchmark's one call: search for a violation with one historical
 * bug switched on (or none: the clean run) and say what was found, how soon, and how small
 * it shrank. The search is `sva-harness run`'s own (search.ts), so
 * `findFault('B07', { platform: 'vtd', seed: 5, runs: 300 })` finds exactly what
 * `sva-harness run --fault B07 --platform vtd --seed 5 --runs 300` finds.
 */
import type fc from 'fast-check';
import type { IommuDriver } from '../src/impl/index.js';
import type { FaultId, Platform, Topology } from '../src/shared/index.js';
import type { Trace } from '../src/trace/index.js';
import { faultInfo, faultPlatforms } from './fault.js';
import { DEFAULT_SEED } from './runner.js';
import { searchForViolation } from './search.js';
import { topologyFor } from './topology.js';
import type { GroupOptions } from './groups.js';
import type { Generator } from './property.js';
import type { Weights } from './weights.js';

/** Runs per search when no budget is given: enough for a bug the model reaches at all. */
export const DEFAULT_FIND_RUNS = 500;

export interface FindFaultOptions {
  /** Default: the fault's first platform (vtd for a core bug, and for the clean run). */
  readonly platform?: Platform;
  /**
   * `random` (default): topologyArb([platform]), the model suites' family; `default`: the
   * platform's default topology; or any topology arbitrary.
   */
  readonly topology?: 'random' | 'default' | fc.Arbitrary<Topology>;
  /** Base seed; chunk k of the search runs on seed + k. Default: DEFAULT_SEED. */
  readonly seed?: number;
  /** Budget: generated runs (default DEFAULT_FIND_RUNS) and, optionally, wall seconds. */
  readonly runs?: number;
  readonly seconds?: number;
  readonly maxCommands?: number;
  readonly weights?: Weights;
  readonly generator?: Generator;
  readonly swarm?: number;
  /** Concurrent groups as `run --groups F --sched S` draws them; absent or rate 0: none (run's default today). */
  readonly groups?: GroupOptions;
  /** Test-only: a deliberately broken driver instead of the platform's (a test fault). */
  readonly driver?: IommuDriver;
}

export interface FaultFinding {
  readonly fault: FaultId | undefined;
  readonly platform: Platform;
  readonly seed: number;
  readonly found: boolean;
  /** The invariant the shrunk counterexample breaks. */
  readonly invariant?: string;
  /** The invariant the first failing run broke (before shrinking). */
  readonly firstInvariant?: string;
  /** `invariant` is one the fault table expects (always false for the clean run). */
  readonly expected: boolean;
  /** Generated runs: up to and including the first failing one, or the whole budget. */
  readonly runs: number;
  readonly runsToFailure?: number;
  /** Commands in the shrunk counterexample. */
  readonly shrunkLength?: number;
  /** Wall time to the end of the first failing run, and from there to the trace (shrinking). */
  readonly msToFailure?: number;
  readonly shrinkMs?: number;
  readonly elapsedMs: number;
  /** The shrunk counterexample, with `fault` recorded: replayable as is. */
  readonly trace?: Trace;
  /** A failing run that produced no trace (a harness bug): one line. */
  readonly error?: string;
}

/** Throws on a platform the fault does not apply to: that is a mistake in the calling test. */
export const findFault = (fault: FaultId | undefined, opts: FindFaultOptions = {}): FaultFinding => {
  const applies = fault === undefined ? undefined : faultPlatforms(fault);
  const platform = opts.platform ?? applies?.[0] ?? 'vtd';
  if (applies !== undefined && !applies.includes(platform)) {
    throw new Error(`findFault: fault ${fault} applies to ${applies.join(', ')}, not ${platform}`);
  }
  const seed = opts.seed ?? DEFAULT_SEED;
  const family = opts.topology ?? 'random';
  const out = searchForViolation({
    topologies: typeof family === 'string' ? topologyFor(platform, { mode: family }) : family,
    seed,
    budget: { runs: opts.runs ?? DEFAULT_FIND_RUNS, ...(opts.seconds === undefined ? {} : { seconds: opts.seconds }) },
    ...(fault === undefined ? {} : { fault }),
    ...(opts.maxCommands === undefined ? {} : { maxCommands: opts.maxCommands }),
    ...(opts.weights === undefined ? {} : { weights: opts.weights }),
    ...(opts.generator === undefined ? {} : { generator: opts.generator }),
    ...(opts.swarm === undefined ? {} : { swarm: opts.swarm }),
    ...(opts.groups === undefined || opts.groups.rate <= 0 ? {} : { groups: opts.groups }),
    ...(opts.driver === undefined ? {} : { driver: opts.driver }),
  });
  const trace = out.counterexample;
  const invariant = trace?.violation?.invariant;
  return {
    fault, platform, seed,
    found: trace !== undefined,
    ...(invariant === undefined ? {} : { invariant }),
    ...(out.firstInvariant === undefined ? {} : { firstInvariant: out.firstInvariant }),
    expected: fault !== undefined && invariant !== undefined && faultInfo(fault).expected.includes(invariant),
    runs: out.runs,
    ...(out.runsToFailure === undefined ? {} : { runsToFailure: out.runsToFailure }),
    ...(trace === undefined ? {} : { shrunkLength: trace.commands.length, trace }),
    ...(out.msToFailure === undefined ? {} : { msToFailure: out.msToFailure, shrinkMs: out.elapsedMs - out.msToFailure }),
    elapsedMs: out.elapsedMs,
    ...(out.error === undefined ? {} : { error: out.error }),
  };
};
