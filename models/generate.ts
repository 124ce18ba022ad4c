/**
 * One state-aware run: a sequence drawn step by step from what the spec state allows
 * (models/draw.ts), executed as it is drawn, every invariant checked after every step. A run
 * is a pure function of (topology, run seed, options): fast-check supplies both, so seeding,
 * chunk seeds and `path` replay stay fast-check's.
 *
 * Swarm testing (Groce et al., ISSTA 2012): each run switches off a random half of the command
 * kinds, so some runs never exit, never munmap or never fault in, and reach the deep states
 * those kinds would otherwise keep tearing down. spawn and bind are never switched off: without
 * them a run has no SVA state at all.
 *
 * With `groups`, a step is now and then 2–3 commands run concurrently (models/groups.ts).
 */
import { checkedStep, injectionArmed } from '../src/harness/index.js';
import type { Session } from '../src/harness/index.js';
import { possibleKind } from '../src/harness/enabled.js';
import { COMMAND_KINDS } from '../src/shared/index.js';
import type { CommandKind, FailSite } from '../src/shared/index.js';
import { drawFailNext, drawOfKind } from './draw.js';
import { GroupPacer, type GroupOptions, atsRaceReady, atsRaceSetup, drawGroup, failedAttachArming, failedAttachReady, runDrawnGroup } from './groups.js';
import type { Rng } from './rng.js';
import type { RunStats } from './stats.js';
import type { Weights } from './weights.js';

export interface GenerateOptions {
  readonly weights: Weights;
  /** Commands after the starting spawns: drawn uniformly in [1, maxCommands] per run. */
  readonly maxCommands: number;
  /** Fraction of runs that are swarm runs (a random half of the kinds switched off). */
  readonly swarm: number;
  /** Concurrent groups (models/groups.ts); absent or rate 0: the Rng is consumed exactly as before groups existed. */
  readonly groups?: GroupOptions;
  /**
   * Fault-injection sites the earlier runs of this chunk failed (failNext's coverage feedback,
   * draw.ts drawFailNext): the chunk's own, so that a chunk's runs do not depend on which
   * chunks a slice ran before it.
   */
  readonly failed?: ReadonlySet<FailSite>;
}

const NONE_FAILED: ReadonlySet<FailSite> = new Set<FailSite>();

const NEVER_OFF: ReadonlySet<CommandKind> = new Set(['spawn', 'bind']);

/** The kinds this run draws from, with their weights. */
const runKinds = (session: Session, rng: Rng, opts: GenerateOptions): { kinds: CommandKind[]; weights: number[] } => {
  const kinds: CommandKind[] = [];
  const weights: number[] = [];
  const swarm = rng.below(1 << 16) < opts.swarm * (1 << 16);
  for (const k of COMMAND_KINDS) {
    const w = opts.weights[k];
    if (w <= 0 || !possibleKind(k, session.topology)) continue;
    // Always draw, so the rng stream does not depend on which kinds the topology allows.
    const off = rng.bool() && swarm && !NEVER_OFF.has(k);
    if (off) continue;
    kinds.push(k);
    weights.push(w);
  }
  return { kinds, weights };
};

/**
 * Runs the sequence on `session` until its length is reached, a violation is found, or no
 * enabled kind has a legal command (the session records what ran).
 */
export const runGenerated = (session: Session, rng: Rng, opts: GenerateOptions, stats: RunStats): void => {
  const { kinds, weights } = runKinds(session, rng, opts);
  const length = 1 + rng.below(Math.max(1, opts.maxCommands));
  // Every slot starts unborn and almost every command needs a live mm: most slots start with a
  // spawn (a recorded command like any other, which the minimiser can delete).
  for (let mm = 0; mm < session.topology.mms; mm++) {
    if (rng.below(8) === 0) continue;
    stats.noteCheck('spawn', true);
    stats.noteRun('spawn');
    if (checkedStep(session, { kind: 'spawn', mm }).length > 0 || session.ended) return;
  }
  const blocked = new Uint8Array(kinds.length);
  const groups = opts.groups !== undefined && opts.groups.rate > 0 ? opts.groups : undefined;
  const enabled = groups === undefined ? undefined : new Set(kinds);
  const pacer = groups === undefined ? undefined : new GroupPacer();
  for (let n = 0; n < length; n++) {
    // R04's state: now and then arm a failure inside the driver attach its group needs; R03's:
    // now and then turn a device's ATS on through another mm first.
    const r04Ready = groups !== undefined && failedAttachReady(session, enabled!);
    const setup = groups === undefined || r04Ready ? undefined : failedAttachArming(session, enabled!, rng) ?? atsRaceSetup(session, enabled!, rng);
    if (setup !== undefined) {
      stats.noteCheck(setup.kind, true);
      stats.noteRun(setup.kind);
      if (checkedStep(session, setup).length > 0 || session.ended) return;
      continue;
    }
    // An armed injection makes the step a group more often: a failure inside a concurrent attach
    // is where R04's window is; R03's rare state (an ATS device that may join a domain with no
    // ATS master) makes it a group always.
    if (groups !== undefined && (rng.below(1 << 16) < groups.rate * (1 << 16) ||
      (injectionArmed(session.spec) && rng.below(4) === 0) || atsRaceReady(session, enabled!) || r04Ready)) {
      const cmds = drawGroup(session, enabled!, rng);
      if (cmds !== undefined) {
        if (runDrawnGroup(session, cmds, groups, rng, pacer!, stats) || session.ended) return;
        continue;
      }
    }
    blocked.fill(0);
    let total = 0;
    for (const w of weights) total += w;
    for (;;) {
      if (total <= 0) return;
      let r = rng.below(total);
      let i = 0;
      while (blocked[i] === 1 || r >= weights[i]!) {
        if (blocked[i] === 0) r -= weights[i]!;
        i++;
      }
      const kind = kinds[i]!;
      const cmd = kind === 'failNext' ? drawFailNext(session, rng, opts.failed ?? NONE_FAILED) : drawOfKind(session.spec, kind, rng);
      if (cmd === undefined) {
        // Nothing of this kind is legal now: draw again among the others (costs no step).
        blocked[i] = 1;
        total -= weights[i]!;
        continue;
      }
      stats.noteCheck(kind, true);
      stats.noteRun(kind);
      if (checkedStep(session, cmd).length > 0) return;
      // A known upstream finding made spec and kernel part ways: the run ends there, unfailed.
      if (session.ended) return;
      break;
    }
  }
};
