/**
 * The spec run along one sequence of a group's linearization points (spec/points.ts), a point at
 * a time, so that the linearization search (group.ts) shares every prefix among the sequences
 * that extend it, and drops a prefix as soon as a member's last point gives an observation
 * other than the kernel's: no extension of it can be accepted.
 */
import type { Command, FailSite, Observation } from '../shared/index.js';
import { ALL_THREAD_POINTS, beginRestall, bindPointsBegin, bindPointsEnd, cloneSpec, linPoints, precondition, servicePasses, serviceThreadPoints, specPoint, type SpecState } from '../spec/index.js';
import type { LinPoint } from '../sched/linearize.js';
import { Hasher } from '../shared/hasher.js';

/** The injected failure the kernel reported (FAULT_INJECTION): which member made it, at which of its opportunities. */
export interface MemberInjection {
  readonly site: FailSite;
  readonly skip: number;
  readonly member: number;
}

/**
 * What a linearization chooses besides the order of points: the injected failure's member and
 * opportunity, and how many work items a serviceFaults member runs before each fault thread's
 * loop ends (spec/pri.ts servicePoint).
 */
export interface LinChoice {
  readonly inj?: MemberInjection;
  readonly early: number;
  /** Bit m: member m's device access inside an exit's release finds its device released (spec/releasing.ts). */
  readonly release?: number;
  /** Base-3 digit m: what member m's access inside a failing attach's window finds (spec/pagingPartway.ts). */
  readonly partway?: number;
  /** Bit k: the k-th resumed SMMUv3 stall that may stall again does (spec/pri.ts restalls). */
  readonly restall?: number;
  /** The order a serviceFaults member's work items run in (SpecServicing.pick). */
  readonly pick?: number;
}

type Retired = SpecState['retired'][number];

/** A sequence's prefix on the spec: the state after it, and what each member has observed. */
export interface SpecRun {
  readonly c: SpecState;
  readonly choice: LinChoice | undefined;
  /** Each member's points, decided on the state before the group. */
  readonly points: readonly number[];
  readonly out: (Observation | undefined)[];
  /**
   * The page requests the spec answered are a per-command output; the group's are every
   * member's, in the sequence's order, as the devices' completions hold every member's.
   */
  readonly retired: Retired[];
  /** The injection, until the failing member's path takes it. */
  pending: MemberInjection | undefined;
}

/** The run before any point, on a copy of `spec` (or on `spec` itself, a copy already). */
export const beginSpecRun = (spec: SpecState, cmds: readonly Command[], choice: LinChoice | undefined, inPlace = false): SpecRun => {
  const c = inPlace ? spec : cloneSpec(spec);
  c.servicing.early = choice?.early ?? 0;
  c.servicing.pick = choice?.pick ?? 0;
  c.servicing.taken = 0;
  if (!inPlace) c.coverage = undefined;
  const points = cmds.map((cmd) => linPoints(c, cmd, cmds.length, cmds));
  c.servicing.points = serviceThreadPoints(c, cmds);
  bindPointsBegin(c, cmds);
  beginRestall(c, choice?.restall ?? 0);
  return { c, choice, points, out: new Array<Observation | undefined>(cmds.length), retired: [], pending: choice?.inj };
};

/** A copy that stepping leaves `r` as it was. */
export const forkSpecRun = (r: SpecRun): SpecRun =>
  ({ c: cloneSpec(r.c), choice: r.choice, points: r.points, out: r.out.slice(), retired: r.retired.slice(), pending: r.pending });

/**
 * One point, in place; false when the member's precondition fails at its first point (no
 * sequence through here gives a history). What the spec throws goes to the caller. The injection is the spec's only at
 * the failing member's points: another member linearized in between makes its own calls, none
 * of which fails.
 */
export const stepSpecRun = (r: SpecRun, cmds: readonly Command[], { member: i, point }: LinPoint): boolean => {
  const { c, choice } = r;
  const cmd = cmds[i]!;
  if (point === 0) {
    if (!precondition(c, cmd)) return false;
    c.retired.length = 0;
  }
  c.releaseSeen = choice?.release !== undefined && ((choice.release >> i) & 1) === 1;
  c.partwaySeen = choice?.partway === undefined ? 0 : Math.floor(choice.partway / 3 ** i) % 3;
  const pending = r.pending;
  const injecting = pending !== undefined && i === pending.member;
  if (injecting) {
    c.injected = pending.site;
    c.injectSkip = pending.skip;
  }
  if (cmd.kind === 'serviceFaults') {
    // One work item: its answers add to the points before it (spec/points.ts).
    const pass = specPoint(c, cmd, point, r.points[i]!)!;
    r.out[i] = servicePasses(r.out[i], pass);
  } else if (r.out[i] === undefined) {
    // A two-point member that failed at its first point (an allocation before the teardown) is done.
    r.out[i] = specPoint(c, cmd, point, r.points[i]!);
  }
  if (injecting) {
    r.pending = c.injected === undefined ? undefined : { ...pending, skip: c.injectSkip };
    c.injected = undefined;
    c.injectSkip = 0;
  }
  for (const x of c.retired) r.retired.push(x);
  c.retired.length = 0;
  return true;
};

/**
 * A hash of everything the rest of a sequence can depend on in `r`: the spec state (its fixed
 * topology facts aside; it holds the choice's early, pick and restalls), the choice's release
 * and partway (read at each point), each member's points, the observations so far, the
 * answered requests, the injection pending. Hashed as acyclic: the only sharing in a spec state
 * is a handle's domain being its slot's, which every state made by cloneSpec keeps.
 */
export const specRunKey = (r: SpecRun): string => {
  const h = new Hasher({ acyclic: true });
  const c = r.c as unknown as Record<string, unknown>;
  for (const k in c) if (k !== 't') h.value(c[k]);
  h.value(r.choice?.release);
  h.value(r.choice?.partway);
  h.value(r.points);
  h.value(r.out);
  h.value(r.retired);
  h.value(r.pending);
  return h.digest();
};

/** An injected failure no member's spec path reached (as specStep says sequentially). */
const untaken = (cmds: readonly Command[], p: MemberInjection): Observation =>
  ({ ok: false, errno: 'EFAULT', fault: `spec: ${cmds[p.member]!.kind} makes no call at ${p.site} here` });

/** What member i observes once its last point is in `r` (undefined: no history). */
export const finalObservation = (r: SpecRun, cmds: readonly Command[], i: number): Observation | undefined =>
  r.pending?.member === i ? untaken(cmds, r.pending) : r.out[i];

/**
 * The observations after the whole sequence, or undefined when a member has none; `retired` is
 * left holding every member's answered requests, and the run's own settings are cleared.
 */
export const endSpecRun = (r: SpecRun, cmds: readonly Command[]): Observation[] | undefined => {
  const { c } = r;
  for (const x of r.retired) c.retired.push(x);
  for (let i = 0; i < cmds.length; i++) if (r.out[i] === undefined) return undefined;
  if (r.pending !== undefined) r.out[r.pending.member] = untaken(cmds, r.pending);
  c.failNth = 0;
  c.servicing.early = 0;
  c.servicing.pick = 0;
  c.servicing.taken = 0;
  c.releaseSeen = false;
  c.partwaySeen = 0;
  c.servicing.points = ALL_THREAD_POINTS;
  bindPointsEnd(c);
  beginRestall(c, 0);
  return r.out as Observation[];
};

/** The run along all of `seq` (undefined when a precondition fails), before its end; what the spec throws goes to the caller. */
export const specRunAlong = (
  spec: SpecState, cmds: readonly Command[], seq: readonly LinPoint[], inPlace = false, choice?: LinChoice,
): SpecRun | undefined => {
  const r = beginSpecRun(spec, cmds, choice, inPlace);
  for (const p of seq) if (!stepSpecRun(r, cmds, p)) return undefined;
  return r;
};

/**
 * The spec's observations for `cmds` linearized at the points `seq` (each member's points in
 * its order) on a copy of `spec` (or on `spec` itself, a copy already), or undefined when a
 * precondition fails or the spec throws.
 */
export const specInPoints = (
  spec: SpecState, cmds: readonly Command[], seq: readonly LinPoint[], inPlace = false, choice?: LinChoice,
): Observation[] | undefined => {
  const r = specRunAlong(spec, cmds, seq, inPlace, choice);
  return r === undefined ? undefined : endSpecRun(r, cmds);
};

/** `f()`, or undefined where the spec throws: a sequence the spec cannot run gives no history. */
export const safely = <T>(f: () => T | undefined): T | undefined => {
  try {
    return f();
  } catch {
    return undefined;
  }
};
