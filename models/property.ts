/**
 * One fast-check property over command sequences: each run opens a fresh session on a drawn
 * topology and executes the generated commands through fc.modelRun. On a failure fast-check
 * shrinks; the last failing run is the shrunk counterexample, whose executed commands are
 * minimised and replayed (no fast-check) to build the trace.
 */
import fc from 'fast-check';
import { type Session, minimizeCommands, openSession, runSequence } from '../src/harness/index.js';
import type { IommuDriver } from '../src/impl/index.js';
import type { FaultId, FindingName, Topology } from '../src/shared/index.js';
import type { CoverageRecorder } from '../src/spec/index.js';
import { newTrace } from '../src/trace/index.js';
import type { Trace, TraceViolation } from '../src/trace/index.js';
import { svaCommand } from './commands/index.js';
import { type Model, SvaCommand } from './model.js';
import { RunStats } from './stats.js';
import { DEFAULT_WEIGHTS, type Weights } from './weights.js';

/** Longest generated sequence. fast-check 4 stays near 10 commands without `size: 'max'`. */
export const DEFAULT_MAX_COMMANDS = 400;

export interface PropertyConfig {
  readonly topologies: fc.Arbitrary<Topology>;
  readonly seed: number;
  readonly numRuns: number;
  readonly maxCommands?: number;
  readonly weights?: Weights;
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

export const checkProperty = (cfg: PropertyConfig): PropertyOutcome => {
  const stats = cfg.stats ?? new RunStats();
  const weights = cfg.weights ?? DEFAULT_WEIGHTS;
  const maxCommands = cfg.maxCommands ?? DEFAULT_MAX_COMMANDS;
  let lastFailing: Session | undefined;
  const sequences = cfg.topologies.chain((t) =>
    fc.tuple(fc.constant(t), fc.commands([svaCommand(t, weights)], { maxCommands, size: 'max' }), startedSlots(t)));
  const property = fc.property(sequences, ([t, cmds, started]) => {
    const session = openSession(t, {
      ...(cfg.coverage === undefined ? {} : { coverage: cfg.coverage }),
      ...(cfg.driver === undefined ? {} : { driver: cfg.driver }),
      ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
      ...(cfg.fixes === undefined ? {} : { fixes: cfg.fixes }),
    });
    const model: Model = { session, stats };
    try {
      for (const c of started) {
        if (c.check(model)) c.run(model);
      }
      fc.modelRun(() => ({ model, real: model }), cmds);
    } finally {
      stats.noteSequence(session.commands.length);
      stats.noteKnown(session.known);
      stats.noteFailed(session.world.core.inject.failed);
      if (session.violation !== undefined) lastFailing = session;
      cfg.afterRun?.(stats, session.violation);
    }
  });
  const result = fc.check(property, { seed: cfg.seed, numRuns: cfg.numRuns });
  if (!result.failed) return { stats };
  if (lastFailing === undefined) {
    const why = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
    return { stats, error: `run failed without a violation: ${why.split('\n')[0] ?? ''}` };
  }
  const replayPath = replayPathOf(result.counterexample?.[0]?.[1]);
  return { stats, counterexample: counterexampleTrace(lastFailing, cfg, result.counterexamplePath, replayPath) };
};

/**
 * Minimises the shrunk commands (src/harness/minimize.ts: 1-minimal for the same invariant),
 * then replays them with events on; falls back to the run's own record.
 */
const counterexampleTrace = (failing: Session, cfg: PropertyConfig, path: string | null, replayPath: string | undefined): Trace => {
  const opts = {
    ...(cfg.driver === undefined ? {} : { driver: cfg.driver }),
    ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
    ...(cfg.fixes === undefined ? {} : { fixes: cfg.fixes }),
  };
  const commands = failing.violation === undefined
    ? failing.commands
    : minimizeCommands(failing.topology, failing.commands, failing.violation.invariant, opts);
  const again = runSequence(failing.topology, commands, { events: true, ...opts });
  const s = again.ok && again.value.session.violation !== undefined ? again.value.session : failing;
  return newTrace({
    topology: s.topology,
    seed: cfg.seed,
    ...(path === null ? {} : { path }),
    ...(replayPath === undefined ? {} : { replayPath }),
    ...(cfg.fault === undefined ? {} : { fault: cfg.fault }),
    ...(cfg.fixes === undefined || cfg.fixes.length === 0 ? {} : { fixes: cfg.fixes }),
    commands: s.commands,
    steps: s.steps,
    ...(s.violation === undefined ? {} : { violation: s.violation }),
  });
};
