/**
 * One fast-check property over command sequences: each run opens a fresh session on a drawn
 * topology and executes a generated sequence. Two generators:
 * - `state` (default): fast-check draws the topology and a run seed; the sequence is drawn
 *   step by step from what the spec state allows (generate.ts), so no command is rejected.
 *   fast-check does not shrink it (it has no shrink tree for the drawn commands); the failing
 *   run's commands are delta-debugged and minimised (shrink.ts).
 * - `commands`: fc.commands over the weighted per-kind arbitraries (models/commands/), filtered
 *   by the preconditions, executed through fc.modelRun and shrunk by fast-check first. Kept for
 *   comparison (npm run bench prints both) and for its shrinker.
 * Either way the counterexample is replayed without fast-check to build the trace.
 */
import fc from 'fast-check';
import { type Session, type StepWatch, minimizeCommands, minimizeCounterexample, openSession, runSequence } from '../src/harness/index.js';
import type { SessionOptions } from '../src/harness/index.js';
import type { IommuDriver } from '../src/impl/index.js';
import { iopf_counts } from '../src/impl/core/iopf.js';
import type { Command, FailSite, FaultId, FindingName, Topology } from '../src/shared/index.js';
import type { CoverageRecorder } from '../src/spec/index.js';
import { newTrace } from '../src/trace/index.js';
import type { Trace, TraceViolation } from '../src/trace/index.js';
import { svaCommand } from './commands/index.js';
import { runGenerated } from './generate.js';
import type { GroupOptions } from './groups.js';
import { type Model, SvaCommand, ViolationError } from './model.js';
import { Rng } from './rng.js';
import { shrinkCommands } from './shrink.js';
import { RunStats } from './stats.js';
import { DEFAULT_WEIGHTS, type Weights } from './weights.js';

/** Longest generated sequence. fast-check 4 stays near 10 commands without `size: 'max'`. */
export const DEFAULT_MAX_COMMANDS = 400;
/** Longest drawn sequence (state-aware runs): every drawn command runs, so half the above gives
 * about the executed lengths fc.commands reached after filtering. */
export const DEFAULT_DRAWN_COMMANDS = 200;
/** Fraction of state-aware runs that are swarm runs (generate.ts). */
export const DEFAULT_SWARM = 0.25;

export interface PropertyConfig {
  readonly topologies: fc.Arbitrary<Topology>;
  readonly seed: number;
  readonly numRuns: number;
  readonly maxCommands?: number;
  readonly weights?: Weights;
  /** `state` (default): state-aware drawing; `commands`: fc.commands with precondition filtering. */
  readonly generator?: Generator;
  /** State-aware runs only: swarm testing, a random half of the kinds off per run (default on). */
  readonly swarm?: number;
  /** State-aware runs only: concurrent groups (models/groups.ts); absent = sequential runs. */
  readonly groups?: GroupOptions;
  /** Test-only: run this driver instead of the platform's. */
  readonly driver?: IommuDriver;
  /** One historical bug switched on in every run's world; the trace records it. */
  readonly fault?: FaultId;
  /** Proposed fixes of known upstream findings switched on in every run's world. */
  readonly fixes?: readonly FindingName[];
  readonly coverage?: CoverageRecorder;
  /** Accumulates over several properties when given. */
  readonly stats?: RunStats;
  /** Called after every run, shrinking runs included, with the run's violation if it failed. */
  readonly afterRun?: (stats: RunStats, violation: TraceViolation | undefined) => void;
  /** The CLI's watchdog over every step of every run (src/harness/watch.ts). */
  readonly watch?: StepWatch;
}

export interface PropertyOutcome {
  readonly stats: RunStats;
  /** The shrunk counterexample as a trace, when a run failed. */
  readonly counterexample?: Trace;
  /** A failure that produced no trace (a harness bug): one line. */
  readonly error?: string;
}

/** fast-check prints the replay path inside the commands' toString: `/*replayPath="..."*\/`. */
const replayPathOf = (commands: unknown): string | undefined => /replayPath="([^"]*)"/.exec(String(commands))?.[1];

/**
 * Every slot starts unborn and almost every command needs a live mm, so a sequence would
 * spend its first few dozen commands waiting for spawns. Each run therefore begins with a
 * spawn in most slots (a recorded command like any other); each can shrink away (0 = skip).
 * It comes AFTER the commands in the tuple: fc.commands' shrinker keeps replay state across
 * calls, and shrinking another tuple member first left it unable to shrink (measured: a
 * 40-command counterexample instead of 5).
 */
const startedSlots = (t: Topology): fc.Arbitrary<SvaCommand[]> =>
  fc.array(fc.integer({ min: 0, max: 7 }), { minLength: t.mms, maxLength: t.mms })
    .map((picks) => picks.flatMap((p, mm) => (p === 0 ? [] : [new SvaCommand({ kind: 'spawn', mm })])));

export type Generator = 'state' | 'commands';

const sessionOptions = (cfg: PropertyConfig): SessionOptions => ({
  ...(cfg.watch === undefined ? {} : { watch: cfg.watch }),
  ...(cfg.coverage === undefined ? {} : { coverage: cfg.coverage }),
  ...(cfg.driver === undefined ? {} : { driver: cfg.driver }),
  ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
  ...(cfg.fixes === undefined ? {} : { fixes: cfg.fixes }),
});

export const checkProperty = (cfg: PropertyConfig): PropertyOutcome =>
  (cfg.generator ?? 'state') === 'state' ? checkStateAware(cfg) : checkCommands(cfg);

/** A failed property whose last run recorded no violation: a harness error, one line. */
const failedWithoutViolation = (e: unknown): string =>
  `run failed without a violation: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}`;

/** What a finished run adds to the statistics, whichever generator drew it. */
const noteRunEnd = (stats: RunStats, session: Session): void => {
  stats.noteSequence(session.commands.length);
  stats.noteKnown(session.known);
  stats.noteFailed(session.world.core.inject.failed);
  stats.noteIopf(iopf_counts(session.world.kernel));
};

/** fast-check's own 32-bit integers seed each run's generator. */
const RUN_SEED = fc.integer({ min: -0x80000000, max: 0x7fffffff });

const checkStateAware = (cfg: PropertyConfig): PropertyOutcome => {
  const stats = cfg.stats ?? new RunStats();
  const failed = new Set<FailSite>();
  const gen = { weights: cfg.weights ?? DEFAULT_WEIGHTS, maxCommands: cfg.maxCommands ?? DEFAULT_DRAWN_COMMANDS, swarm: cfg.swarm ?? DEFAULT_SWARM,
    ...(cfg.groups === undefined ? {} : { groups: cfg.groups }), failed };
  const opts = sessionOptions(cfg);
  let lastFailing: Session | undefined;
  cfg.watch?.chunk(cfg.seed);
  const property = fc.property(cfg.topologies, RUN_SEED, (t, runSeed) => {
    const session = openSession(t, opts);
    try {
      runGenerated(session, new Rng(runSeed), gen, stats);
    } finally {
      noteRunEnd(stats, session);
      for (const site of session.world.core.inject.failed) failed.add(site);
      if (session.violation !== undefined) lastFailing = session;
      cfg.afterRun?.(stats, session.violation);
    }
    if (session.violation !== undefined) throw new ViolationError(session.violation);
  });
  // No fast-check shrinking: a smaller topology or another run seed is a different sequence.
  const result = fc.check(property, { seed: cfg.seed, numRuns: cfg.numRuns, endOnFailure: true });
  if (!result.failed) return { stats };
  if (lastFailing === undefined) return { stats, error: failedWithoutViolation(result.errorInstance) };
  return { stats, counterexample: counterexampleTrace(lastFailing, cfg, result.counterexamplePath, undefined, shrinkCommands) };
};

const checkCommands = (cfg: PropertyConfig): PropertyOutcome => {
  const stats = cfg.stats ?? new RunStats();
  const weights = cfg.weights ?? DEFAULT_WEIGHTS;
  const maxCommands = cfg.maxCommands ?? DEFAULT_MAX_COMMANDS;
  let lastFailing: Session | undefined;
  const sequences = cfg.topologies.chain((t) =>
    fc.tuple(fc.constant(t), fc.commands([svaCommand(t, weights)], { maxCommands, size: 'max' }), startedSlots(t)));
  cfg.watch?.chunk(cfg.seed);
  const property = fc.property(sequences, ([t, cmds, started]) => {
    const session = openSession(t, sessionOptions(cfg));
    const model: Model = { session, stats };
    try {
      for (const c of started) {
        if (c.check(model)) c.run(model);
      }
      fc.modelRun(() => ({ model, real: model }), cmds);
    } finally {
      noteRunEnd(stats, session);
      if (session.violation !== undefined) lastFailing = session;
      cfg.afterRun?.(stats, session.violation);
    }
  });
  const result = fc.check(property, { seed: cfg.seed, numRuns: cfg.numRuns });
  if (!result.failed) return { stats };
  if (lastFailing === undefined) return { stats, error: failedWithoutViolation(result.errorInstance) };
  const replayPath = replayPathOf(result.counterexample?.[0]?.[1]);
  return { stats, counterexample: counterexampleTrace(lastFailing, cfg, result.counterexamplePath, replayPath, minimizeCommands) };
};

type Shrinker = (topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions) => readonly Command[];

/**
 * Shrinks the failing run's commands to a 1-minimal list for the same invariant, then replays
 * them with events on; falls back to the run's own record.
 */
const counterexampleTrace = (
  failing: Session, cfg: PropertyConfig, path: string | null, replayPath: string | undefined, shrink: Shrinker,
): Trace => {
  const opts = {
    ...(cfg.driver === undefined ? {} : { driver: cfg.driver }),
    ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
    ...(cfg.fixes === undefined ? {} : { fixes: cfg.fixes }),
  };
  const small = failing.violation === undefined
    ? { topology: failing.topology, commands: failing.commands, groups: failing.groups }
    : minimizeCounterexample(failing.topology, failing.commands, failing.violation.invariant, opts, shrink, failing.groups);
  const groups = small.groups ?? [];
  const again = runSequence(small.topology, small.commands, { events: true, ...opts, ...(groups.length === 0 ? {} : { groups }) });
  const s = again.ok && again.value.session.violation !== undefined ? again.value.session : failing;
  // fast-check's path names its own run on the generated topology; after topology shrinking
  // it would replay something else, so it is kept only when the topology is the generated one.
  const fcPath = s.topology === failing.topology;
  return newTrace({
    topology: s.topology,
    seed: cfg.seed,
    ...(path === null || !fcPath ? {} : { path }),
    ...(replayPath === undefined || !fcPath ? {} : { replayPath }),
    ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
    ...(cfg.fixes === undefined || cfg.fixes.length === 0 ? {} : { fixes: cfg.fixes }),
    commands: s.commands,
    steps: s.steps,
    ...(s.groups.length === 0 ? {} : { groups: s.groups }),
    ...(s.violation === undefined ? {} : { violation: s.violation }),
  });
};
