/**
 * Concurrent groups for the state-aware generator (issue 11): with probability `rate` a step is
 * 2–3 commands run as tasks under one scheduler (src/harness/group.ts runChecked), drawn so
 * that every order of them is legal (groupLegal) and biased toward the pairs whose races the
 * kernel's history holds: bind/unbind/exit/munmap/mprotect/serviceFaults/attachPasid/
 * replacePasid against each other and against the device's DMA and page requests on the same
 * mm or device. The scheduler is PCT (d = 2 or 3) or random, seeded from the run's Rng, so a
 * run stays a pure function of its seed; the trace records the seed and the switches taken.
 */
import type { Session } from '../src/harness/index.js';
import { LIN_ID, groupLegal, runChecked } from '../src/harness/group.js';
import { pctPolicy, randomPolicy } from '../src/sched/policies.js';
import type { Policy } from '../src/sched/types.js';
import type { Command, CommandKind } from '../src/shared/index.js';
import { drawOfKind } from './draw.js';
import type { Rng } from './rng.js';
import type { RunStats } from './stats.js';

/**
 * Share of steps that are groups in `sva-harness run` unless --groups says otherwise: 0 while
 * bridges remain (the mm paths are tasks now; VT-d's svm.c, prq.c, qi.c and a few IOPF calls
 * are not: src/cli/runOptions.ts DEFAULT_GROUPS says why).
 */
export const DEFAULT_GROUP_RATE = 0;
/** The schedulers a generated group may use; `mix` = half PCT, half random. */
export type GroupScheduler = 'random' | 'pct' | 'mix';
export const GROUP_SCHEDULERS: readonly GroupScheduler[] = ['random', 'pct', 'mix'];

export interface GroupOptions {
  /** Probability that a step is a group; 0 = none, and no Rng draw is made for it. */
  readonly rate: number;
  readonly scheduler: GroupScheduler;
  /** PCT's d; undefined = 2 or 3, drawn per group. */
  readonly depth?: number;
}

/** The kinds whose concurrent pairs the SVA history has races in (issue 11's list). */
const RACY: readonly CommandKind[] = ['bind', 'unbind', 'exit', 'munmap', 'mprotect', 'touch', 'fork', 'migrate', 'gracePeriod', 'serviceFaults', 'attachPasid', 'replacePasid', 'dma', 'prg'];
/** Draws before a group gives up and the step runs one command instead. */
const GROUP_TRIES = 4;
/** Draws of a partner before one that shares no mm or device with the first member is taken. */
const PARTNER_TRIES = 3;
/**
 * PCT needs the run's length k in advance. Before a run's first group, a guess per member;
 * afterwards the mean points per member of the run's own groups so far (deterministic: it
 * depends on this run only).
 */
const FIRST_POINTS_PER_MEMBER = 16;

const mmOf = (c: Command): number | undefined => ('mm' in c && typeof c.mm === 'number' ? c.mm : undefined);
const devOf = (c: Command): number | undefined => ('dev' in c && typeof c.dev === 'number' ? c.dev : undefined);
const shares = (a: Command, b: Command): boolean =>
  (mmOf(a) !== undefined && mmOf(a) === mmOf(b)) || (devOf(a) !== undefined && devOf(a) === devOf(b)) || mmOf(b) === undefined;

/** One racy command of a kind the run enables, or undefined. */
const drawRacy = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command | undefined => {
  const k = RACY[rng.below(RACY.length)]!;
  return kinds.has(k) ? drawOfKind(session.spec, k, rng) : undefined;
};

/** 2–3 commands that groupLegal accepts, or undefined after a few tries. */
export const drawGroup = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  for (let t = 0; t < GROUP_TRIES; t++) {
    const first = drawRacy(session, kinds, rng);
    if (first === undefined) continue;
    const cmds = [first];
    const size = rng.below(4) === 0 ? 3 : 2;
    while (cmds.length < size) {
      let next: Command | undefined;
      for (let p = 0; p < PARTNER_TRIES; p++) {
        const c = drawRacy(session, kinds, rng);
        if (c === undefined) continue;
        next = c;
        if (shares(first, c)) break;
      }
      if (next === undefined) break;
      cmds.push(next);
    }
    if (cmds.length >= 2 && groupLegal(session.spec, cmds)) return cmds;
  }
  return undefined;
};

/** Per run: the running mean of points per member, for PCT's k. */
export class GroupPacer {
  private points = 0;
  private members = 0;
  expected(n: number): number {
    return Math.max(n, Math.round(n * (this.members === 0 ? FIRST_POINTS_PER_MEMBER : this.points / this.members)));
  }
  note(n: number, points: number): void {
    this.members += n;
    this.points += points;
  }
}

/** Runs `cmds` as one checked group under the drawn scheduler; true when a violation was found. */
export const runDrawnGroup = (session: Session, cmds: readonly Command[], opts: GroupOptions, rng: Rng, pacer: GroupPacer, stats: RunStats): boolean => {
  const pct = opts.scheduler === 'pct' || (opts.scheduler === 'mix' && rng.bool());
  const seed = rng.below(0x7fffffff);
  const depth = pct ? (opts.depth ?? 2 + rng.below(2)) : undefined;
  const policy: Policy = pct ? pctPolicy(seed, depth!, pacer.expected(cmds.length)) : randomPolicy(seed);
  for (const c of cmds) {
    stats.noteCheck(c.kind, true);
    stats.noteRun(c.kind);
  }
  const r = runChecked(session, cmds, policy, { scheduler: pct ? 'pct' : 'random', seed, ...(depth === undefined ? {} : { depth }) });
  if (r.run !== undefined) pacer.note(cmds.length, r.run.points);
  stats.noteGroup(r.run, r.found.some((v) => v.invariant === LIN_ID));
  return r.found.length > 0;
};
