/**
 * The checked step of a concurrent group (issue 11): 2–3 commands run as tasks on one session
 * under a scheduler; the at-yield invariants are checked at every scheduling point; then the
 * group must be linearizable (Wing and Gong 1993, as Knossos checks histories): some order of
 * its members that respects real time gives, run on the spec one after another, the
 * observations the kernel returned. That order's spec state becomes the session's, and the
 * usual invariants and refinement run once at the group's quiescent end.
 */
import type { Violation } from '../../properties/invariant.js';
import { STEP_WORK_BUDGET, SoftLockup, armWorkMeter, disarmWorkMeter } from '../hw/work.js';
import type { Co, TaskKind } from '../impl/core/sched.js';
import { coreOf, inject_end, inject_group_begin, inject_task, injected_site, type World } from '../impl/index.js';
import { implTask } from '../impl/dispatch.js';
import type { Command, FailSite, Observation, TraceEvent } from '../shared/index.js';
import { sameObservation } from '../shared/index.js';
import { type AbstractView, allocatesFirst, bindPasidWindow, bindSetUpWindows, bindUnlockedWindow, cloneSpec, inMask, linPoints, restallPossible, type SpecState, workItemsPossible } from '../spec/index.js';
import { atRid, ridGroupable } from '../spec/rid.js';
import { abstract } from '../../properties/abstraction.js';
import { matchesSpec } from '../../properties/lifecycle/refinementMatch.js';
import { runGroup } from '../sched/group.js';
import { type LinPoint, type PointRules, linearizePoints, searchPoints } from '../sched/linearize.js';
import { defaultPolicy, pctPolicy, randomPolicy, replayPolicy } from '../sched/policies.js';
import type { GroupMember, GroupPoint, GroupRun, GroupTask, Policy, SchedulerName, Switch } from '../sched/types.js';
import { formatCommand, formatObservation } from '../trace/index.js';
import type { GroupEvent, TraceStep } from '../trace/index.js';
import { adoptAllocatedIds } from './adoptIds.js';
import { type LinChoice, type MemberInjection, type SpecRun, beginSpecRun, endSpecRun, finalObservation, forkSpecRun, safely, specInPoints, specRunAlong, specRunKey, stepSpecRun } from './specRun.js';
import { type AtYieldMark, checkAtYield } from './atYield.js';
import { excuseKnown, knownExplains } from './known.js';
import type { MemberTask, Session } from './session.js';
import { type OtherMember, hiddenStateIs, injectAttempts, injectionArmed, quiescentChecks, viewIs, violationCount } from './step.js';
import { exceptionViolation, firstLine, lockupViolation, observationViolation, toTraceViolation } from './violation.js';

export interface GroupSchedule {
  readonly scheduler: SchedulerName | 'replay';
  readonly seed: number;
  /** PCT's d. */
  readonly depth?: number;
  /** Given: replayed exactly (whatever found them); absent: the scheduler decides. */
  readonly switches?: readonly Switch[];
}

/** Linearizability: the group's observations are those of some sequential order. */
export const LIN_ID = 'LIN';

/** Groups the harness runs: larger ones make the n! orders and the schedules too many. */
export const MAX_GROUP = 3;
/** PCT's d when the caller gives none: two change points find most two-thread races. */
export const DEFAULT_PCT_DEPTH = 2;
/** PCT needs the run's length in advance; a guess per member (its k in Burckhardt et al.). */
const POINTS_PER_MEMBER = 64;

/** Every order of 0..n-1, n <= MAX_GROUP, in lexicographic order (identity first). */
const PERMS: readonly (readonly (readonly number[])[])[] = [[[]], [[0]], [[0, 1], [1, 0]], [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]];

/**
 * Arming an injection is a command of its own, before the group. A failNth armed there counts
 * the calls of the group's first member (fail-nth is current's: lib/fault-inject.c); a failNext
 * fails the first call at its site, whichever member makes it.
 */
const SEQUENTIAL_ONLY = new Set<Command['kind']>(['failNext', 'failNth']);

/**
 * The work-item orders a group is tried with: queue order, and with two or more items possible
 * every other order of the first two or three (the workqueue is unbound: amd run --fix all seed
 * 1729, run 1951, a write's item ran before a munmap and an older read's after it).
 */
const pickChoices = (spec: SpecState, cmds: readonly Command[]): readonly number[] => {
  const items = workItemsPossible(spec, cmds);
  return items >= 3 ? [0, 1, 2, 3, 4, 5] : items === 2 ? [0, 1] : [0];
};

/** Where a retry may stall again (spec/pri.ts restallPossible): whether the first and the second such retry do (a third does not). */
const restallChoices = (spec: SpecState, cmds: readonly Command[]): readonly number[] => (restallPossible(spec, cmds) ? [0, 1, 2, 3] : [0]);

/**
 * The release choices a group is tried with: with an exit that has a release window, every
 * subset of its device accesses finding their device released; else none. An access by PASID
 * (dmaPasid) at the exiting mm's PASID meets the same per-device release as one by mm (amd
 * seed 7 --fix all --groups 0.5: the exit's release cleared dev1's GCR3 entry before dev0's, and
 * a dmaPasid by dev1 between them found no entry while dev0's dma still walked the page table).
 */
const releaseChoices = (spec: SpecState, cmds: readonly Command[]): readonly number[] => {
  if (!cmds.some((c) => c.kind === 'exit' && linPoints(spec, c, cmds.length, cmds) > 1)) return [0];
  let mask = 0;
  cmds.forEach((c, i) => {
    if (c.kind === 'dma' || c.kind === 'dmaPasid') mask |= 1 << i;
  });
  const out: number[] = [];
  for (let m = mask; ; m = (m - 1) & mask) {
    out.push(m);
    if (m === 0) break;
  }
  return out.reverse();
};

/**
 * With an injected failure and an attach or replace at a PASID: every combination of what the
 * accesses by PASID (dmaPasid) find inside its window if it fails partway (old, none, new).
 */
const partwayChoices = (cmds: readonly Command[]): readonly number[] => {
  if (!cmds.some((c) => c.kind === 'attachPasid' || c.kind === 'replacePasid')) return [0];
  let out = [0];
  cmds.forEach((c, i) => {
    if (c.kind === 'dmaPasid') out = out.flatMap((v) => [v, v + 3 ** i, v + 2 * 3 ** i]);
  });
  return out;
};

/** The early work items a serviceFaults member is tried with: the thread's loop may outlast the first two. */
const EARLY_ITEMS: readonly number[] = [0, 1, 2];

/** The members an armed injection may fail: the first (failNth), or any (failNext). */
const failable = (spec: SpecState, n: number): readonly number[] =>
  spec.failArmed !== undefined ? Array.from({ length: n }, (_, i) => i) : spec.failNth > 0 ? [0] : [];

/** Spec runs a linearization tries one at a time before it shares prefixes (runChecked). */
const QUICK_RUNS = 64;

/** Each member's points back to back: no member inside another's window. */
const isAtomic = (seq: readonly LinPoint[]): boolean => seq.every((p, k) => p.point === 0 || seq[k - 1]!.member === p.member);

/** A member order as points: each member's points back to back (the atomic sequential order). */
const atomicPoints = (spec: SpecState, cmds: readonly Command[], order: readonly number[]): LinPoint[] => {
  const seq: LinPoint[] = [];
  for (const i of order) for (let p = 0; p < linPoints(spec, cmds[i]!, cmds.length, cmds); p++) seq.push({ member: i, point: p });
  return seq;
};

const specInOrderSafe = (spec: SpecState, cmds: readonly Command[], order: readonly number[]): Observation[] | undefined =>
  specInPointsSafe(spec, cmds, atomicPoints(spec, cmds, order));

const specInPointsSafe = (
  spec: SpecState, cmds: readonly Command[], seq: readonly LinPoint[], inPlace = false, choice?: LinChoice,
): Observation[] | undefined => safely(() => specInPoints(spec, cmds, seq, inPlace, choice));

/**
 * Every order of the group meets the spec's preconditions: whatever the schedule, each member is a legal call.
 * Two serviceFaults are not a group: each observes the page requests answered while it ran
 * (the kernel-wide count of iopf_run_all in dispatch.ts), so two overlapping ones both count the
 * same answer and no order explains them: a property of the observation, not of the kernel.
 */
export const groupLegal = (spec: SpecState, cmds: readonly Command[]): boolean => {
  if (cmds.length < 2 || cmds.length > MAX_GROUP) return false;
  if (cmds.some((c) => SEQUENTIAL_ONLY.has(c.kind) || (atRid(spec, c) && !ridGroupable(spec, c, cmds)))) return false;
  if (cmds.filter((c) => c.kind === 'serviceFaults').length > 1) return false;
  // Nor a migration and serviceFaults: a work item whose fault meets the migration entry waits
  // in do_swap_page (migration_entry_wait) and returns 0 without the fault, so the IOPF core
  // answers Success for a fault not taken (the retry faults again). The spec has no such answer.
  if (cmds.some((c) => c.kind === 'migrate') && cmds.some((c) => c.kind === 'serviceFaults')) return false;
  if (!PERMS[cmds.length]!.every((order) => specInOrderSafe(spec, cmds, order) !== undefined)) return false;
  // With an injection armed, a failed member's rollback (a notifier put, a PASID kept) is
  // linearized with the rest of it, at its one point: the others are the devices' accesses and
  // the fault service, which read what the failed call exposed but undo nothing it did. A CPU
  // command beside it (a grace period between a failed bind's PASID allocation and its
  // notifier put) would need the rollback as a point of its own.
  if (injectionArmed(spec) && !cmds.every((c, i) => i === 0 || DEVICE_SIDE.has(c.kind) || c.kind === 'serviceFaults')) return false;
  // A member may fail and leave the state as it found it: the others must be legal in every
  // order without it too.
  return failable(spec, cmds.length).every((j) => {
    const rest = cmds.filter((_, i) => i !== j);
    return PERMS[rest.length]!.every((order) => specInOrderSafe(spec, rest, order) !== undefined);
  });
};

/** What a member task did: its observation, or what it threw. */
type Outcome = Observation | { readonly thrown: unknown };
const isThrown = (o: Outcome | undefined): o is { readonly thrown: unknown } => o !== undefined && 'thrown' in o;

function* guarded(task: MemberTask, world: World, cmd: Command, injected = false): Co<Outcome> {
  if (injected) inject_task(world.kernel);
  try {
    return yield* task(world, cmd);
  } catch (e) {
    return { thrown: e };
  }
}

/** Device-side commands run on a device's lane (the hardware issuing DMA and page requests). */
const DEVICE_SIDE = new Set<Command['kind']>(['dma', 'dmaIova', 'dmaPasid', 'prefetch', 'prefetchKernel', 'prg', 'stopMarker']);
const memberKind = (cmd: Command): TaskKind => (DEVICE_SIDE.has(cmd.kind) ? 'hw' : 'cpu');
const memberName = (cmd: Command, i: number): string => `${memberKind(cmd) === 'hw' ? 'dev' : 'cpu'}${i}`;

const policyFor = (sched: GroupSchedule, n: number): Policy => {
  if (sched.switches !== undefined) return replayPolicy({ switches: sched.switches });
  switch (sched.scheduler) {
    case 'random':
      return randomPolicy(sched.seed);
    case 'pct':
      return pctPolicy(sched.seed, sched.depth ?? DEFAULT_PCT_DEPTH, n * POINTS_PER_MEMBER);
    default:
      return defaultPolicy();
  }
};

/**
 * 2–3 commands run concurrently on the session (the caller checked groupLegal). Returns the
 * violations found and records each member as a step (steps[i] belongs to commands[i]) and the
 * group, with the schedule taken, in `s.groups`.
 */
export const checkedGroup = (s: Session, cmds: readonly Command[], sched: GroupSchedule): readonly Violation[] =>
  runChecked(s, cmds, policyFor(sched, cmds.length), sched).found;

export interface GroupChecked {
  readonly found: readonly Violation[];
  readonly run: GroupRun | undefined;
}

/** What a thrown member records as its observation (as the sequential step does): the violation carries the detail. */
const threw = (e: unknown): Observation => ({ ok: false, errno: 'EFAULT', fault: `threw: ${firstLine(e)}` });

/**
 * The linearization rules of a group: each member's points (spec/points.ts), and which members
 * may linearize inside another's window. A replace's: device accesses and another replace (of
 * another group's PASID: the two run under two group mutexes); the kernel's own paths that could
 * observe a replace half done (attach, detach, another replace of that PASID) wait on the
 * &group->mutex it holds, and the others do not read the PASID's entry. A migration's: device
 * accesses; the CPU's fault, munmap and mprotect wait (the entry, mmap_lock). Between an
 * unbind's device stop and its teardown anything but the device's own commands (mayEnter).
 * Between two work items of serviceFaults anything: a loop that handles what is queued hides
 * no state.
 */
const pointRules = (spec: SpecState, cmds: readonly Command[]): PointRules => {
  const alloc = cmds.map((c) => allocatesFirst(spec, c, cmds.length));
  const unlocked = cmds.map((c) => bindUnlockedWindow(spec, c, cmds));
  const setUp = cmds.map((c) => bindSetUpWindows(spec, c, cmds));
  const pasid = cmds.map((c) => bindPasidWindow(spec, c, cmds));
  const points = cmds.map((c) => linPoints(spec, c, cmds.length, cmds));
  // An unbind with its stop point (spec/points.ts: [stop, teardown, (drain's pass, PQH,) rest]).
  const stops = cmds.map((c, m) => c.kind === 'unbind' && points[m]! >= 3);
  const windows: MemberWindows = { alloc, unlocked, setUp, pasid, stops };
  return { points, mayEnter: (i, owner, after) => mayEnter(cmds, windows, i, owner, after) };
};

/** Whether `cmd` takes device `dev`'s &uacce->mutex (src/impl/uacce.ts). */
const takesUacce = (cmd: Command, dev: number): boolean =>
  (cmd.kind === 'bind' || cmd.kind === 'unbind' || cmd.kind === 'unplug') && cmd.dev === dev;

/** The windows of each member m that pointRules' mayEnter reads. */
interface MemberWindows {
  /** Member m's point 0 is its HWPT allocation. */
  readonly alloc: readonly boolean[];
  /** The point that member m's bind window without &group->mutex precedes (-1: none). */
  readonly unlocked: readonly number[];
  /** Member m's bind windows with its attempt set up (spec/points.ts bindSetUpWindows). */
  readonly setUp: readonly number[];
  /** The point that member m's bind window after its PASID allocation precedes (-1: none; bindPasidWindow). */
  readonly pasid: readonly number[];
  /** Member m is an unbind whose first window follows its device's stop. */
  readonly stops: readonly boolean[];
}

/** pointRules' mayEnter: whether member i may linearize in owner's window before its point `after`. */
const mayEnter = (cmds: readonly Command[], w: MemberWindows, i: number, owner: number, after: number): boolean => {
  const { alloc, unlocked, setUp, stops } = w;
  const kind = cmds[i]!.kind;
  // Between the VMM's HWPT allocation and its attach or replace no lock is held.
  if (after === 1 && alloc[owner]) return true;
  switch (cmds[owner]!.kind) {
    case 'serviceFaults':
      return true;
    case 'bind':
      // Between the attempts on the mm's domains and the new domain's: iommu_sva_lock is held,
      // &group->mutex is not (iommufd's paging commands take it), nor is the device stopped.
      // Inside an attempt set up (spec/attaching.ts) the mutex is held: devices, and the fault
      // path, which takes neither lock (iommu_report_device_fault reads the pasid_array under
      // its own xa_lock, and the work only mmap_lock, which the bind does not hold there).
      // After its PASID allocation: iommu_sva_lock only, which a grace period and an mmdrop
      // (mm_pasid_drop) do not take.
      if (after === w.pasid[owner] && (kind === 'gracePeriod' || kind === 'mmdrop')) return true;
      return DEVICE_SIDE.has(kind) || (kind === 'serviceFaults' && inMask(setUp[owner]!, after)) ||
        (after === unlocked[owner] && (kind === 'attachPasid' || kind === 'replacePasid' || kind === 'detachPasid'));
    case 'replacePasid':
      return DEVICE_SIDE.has(kind) || kind === 'replacePasid';
    case 'unbind':
      // Between the device's stop and the teardown (uacce_put_queue's stop_queue, then
      // uacce_unbind_queue) only the device's &uacce->mutex is held: any command but one of
      // that device (its bind, unbind and unplug take the mutex) runs there (amd run --fix all
      // --seed 7, run 244: another device of the group bound before the unbind took
      // iommu_sva_lock, so the unbind dropped a user and did not tear down).
      if (after === 1 && stops[owner] && !takesUacce(cmds[i]!, cmds[owner]!.dev)) return true;
      // The fault path takes no lock the unbind holds (iommu_sva_handle_iopf: mmap_lock only),
      // nor does a grace period (synchronize_srcu, then the SRCU callbacks: free_notifier of
      // notifiers put before it), which touches nothing the unbind's window half holds.
      return DEVICE_SIDE.has(kind) || kind === 'serviceFaults' || kind === 'gracePeriod';
    default:
      return DEVICE_SIDE.has(kind);
  }
};

/** Members in the order their last point takes effect (where each completes). */
const completionOrder = (seq: readonly LinPoint[]): number[] => {
  const out: number[] = [];
  for (let k = seq.length - 1; k >= 0; k--) if (!out.includes(seq[k]!.member)) out.unshift(seq[k]!.member);
  return out;
};

export const runChecked = (s: Session, cmds: readonly Command[], policy: Policy, sched: GroupSchedule): GroupChecked => {
  const n = cmds.length;
  const step0 = s.commands.length;
  for (const c of cmds) s.commands.push(c);
  s.watch?.enter(s, cmds[n - 1]!);
  s.watch?.group({ at: step0, size: n, scheduler: sched.scheduler, seed: sched.seed, ...(sched.depth === undefined ? {} : { depth: sched.depth }) });
  const world = s.world;
  const task = s.task ?? implTask;
  const log = s.log;
  s.probe.begin();
  s.probe.before = undefined;
  world.kernel.findingHits.length = 0;

  // Events by the task that emitted them: members' go to their own step, a kernel task's to the
  // member it works for (sched/group.ts memberOf).
  const buckets: GroupEvent[][] | undefined = log === undefined ? undefined : Array.from({ length: n }, () => []);
  const mark: AtYieldMark = { warnings: coreOf(world.kernel).warnings.length, anomalies: world.kernel.mem.anomalies.length };
  let atYield: Violation | undefined;
  let names: readonly string[] = cmds.map(memberName);
  const onPoint = (p: GroupPoint, member: number): void => {
    if (p.switched) s.probe.noteSwitch();
    if (buckets !== undefined) {
      const bucket = buckets[member]!;
      for (const e of log!.take()) bucket.push({ ...e, task: p.task, at: p.at });
    }
    if (atYield === undefined) atYield = checkAtYield(world, s.probe, mark, p.at, p.task, names[p.task] ?? `task ${p.task}`);
  };

  const armed = injectionArmed(s.spec);
  const members: GroupMember[] = cmds.map((cmd, i) => ({ name: memberName(cmd, i), kind: memberKind(cmd), body: guarded(task, world, cmd, armed && i === 0) }));
  let run: GroupRun;
  let site: FailSite | undefined;
  if (armed) inject_group_begin(world.kernel);
  armWorkMeter(STEP_WORK_BUDGET * n);
  try {
    const watch = s.watch;
    run = runGroup(world.kernel, members, policy, { record: log !== undefined, onPoint, ...(watch === undefined ? {} : { onSwitch: (sw: Switch) => watch.groupSwitch(sw) }) });
  } catch (e) {
    // Out of the scheduler itself (the work meter's soft lockup, a bug of ours): the group has
    // no history to check; the world is half-done, so the invariants are not run.
    const v = e instanceof SoftLockup ? lockupViolation(cmds[0]!, e) : exceptionViolation(cmds[0]!, 'impl', e);
    const steps = cmds.map((): TraceStep => ({ expected: threw(e), actual: threw(e) }));
    return { found: finishGroup(s, step0, steps, buckets, sched, undefined, [v], 0), run: undefined };
  } finally {
    disarmWorkMeter();
    if (armed) {
      site = injected_site(world.kernel);
      inject_end(world.kernel);
    }
  }
  names = run.tasks.map((t) => t.name);

  const outcomes = run.results as readonly (Outcome | undefined)[];
  const actual: Observation[] = outcomes.map((o) =>
    o === undefined ? { ok: false, errno: 'EFAULT', fault: `never finished${run!.deadlock === undefined ? '' : `: ${run!.deadlock}`}` } : isThrown(o) ? threw(o.thrown) : o);
  const thrownAt = outcomes.findIndex(isThrown);

  // The linearization: the first real-time-respecting order whose spec observations are the
  // kernel's, whose spec state the kernel's refines, and under which the invariants hold; else,
  // of those whose observations and state are, the one with the fewest violations (a known
  // finding's persists under every order); else the first whose observations are. Two binds
  // give the same PASID in either order, but the domain IDs or ASIDs follow the order the kernel
  // took, so the state picks it; a page request sent while serviceFaults ran is answered or still
  // queued according to the order, which the refinement's view does not hold but the PRI
  // invariants do. With no order matching, the quiescent checks report the difference.
  let byObservation: readonly LinPoint[] | undefined;
  // Observations and the abstract view, not the state the view does not hold (hiddenStateIs):
  // a known finding's lasting divergence (amd-remove-pasid-no-iopf-flush: the kernel left a
  // request the spec drained; amd seed 701729) must not make the order of the group's lifecycle
  // commands the first by observation alone.
  let byView: readonly LinPoint[] | undefined;
  let byState: readonly LinPoint[] | undefined;
  let fewest = Infinity;
  // The failed call's opportunity, for the sequence it was accepted with (as failedAttempt picks it sequentially).
  const injections: readonly (MemberInjection | undefined)[] = site === undefined ? [undefined]
    : failable(s.spec, n).flatMap((member) => Array.from({ length: injectAttempts(cmds[member]!, site!) }, (_, skip) => ({ site: site!, skip, member })));
  const earlies = cmds.some((c) => c.kind === 'serviceFaults') ? EARLY_ITEMS : [0];
  const releases = releaseChoices(s.spec, cmds);
  const partways = site === undefined ? [0] : partwayChoices(cmds);
  const restalls = restallChoices(s.spec, cmds);
  const picks = pickChoices(s.spec, cmds);
  // Every combination, the injection's opportunity varying fastest (the order the search tries them).
  const candidates: LinChoice[] = [];
  for (const pick of picks) for (const restall of restalls) for (const partway of partways) for (const release of releases) for (const early of earlies) for (const inj of injections) {
    candidates.push({
      early, ...(inj === undefined ? {} : { inj }), ...(release === 0 ? {} : { release }), ...(partway === 0 ? {} : { partway }),
      ...(restall === 0 ? {} : { restall }), ...(pick === 0 ? {} : { pick }),
    });
  }
  let injOfObservation: LinChoice | undefined;
  let injOfView: LinChoice | undefined;
  let injOfState: LinChoice | undefined;
  const others = (o: readonly number[], exp: readonly Observation[]): OtherMember[] =>
    o.slice(0, n - 1).map((i) => ({ cmd: cmds[i]!, expected: exp[i]!, actual: actual[i]! }));
  // A member whose observation a known finding explains (a DMA the finding's lasting state
  // aborts) is held to the spec only in a second pass, taken when no order matches exactly: the
  // quiescent checks then report its OBS, which the finding excuses as it would sequentially.
  const rules = thrownAt >= 0 ? undefined : pointRules(s.spec, cmds);
  // The kernel's abstract state after the group: the same for every candidate order.
  let kernelView: AbstractView | undefined;
  const viewOfWorld = (): AbstractView => (kernelView ??= abstract(world));
  type Same = (cmd: Command, expected: Observation, got: Observation) => boolean;
  // At a full sequence, a candidate's run whose every member observed what the kernel returned.
  const accepts = (same: Same, seq: readonly LinPoint[], r: SpecRun): boolean => {
    const { c, choice: inj } = r;
    const obs = safely(() => endSpecRun(r, cmds));
    if (obs === undefined || !obs.every((x, i) => same(cmds[i]!, x, actual[i]!))) return false;
    if (byObservation === undefined) {
      byObservation = seq.slice();
      injOfObservation = inj;
    }
    if (!viewIs(world, c, viewOfWorld, (spec) => adoptAllocatedIds(spec, viewOfWorld()))) return false;
    if (!hiddenStateIs(world, c)) {
      if (byView === undefined) {
        byView = seq.slice();
        injOfView = inj;
      }
      return false;
    }
    const o = completionOrder(seq);
    const last = o[n - 1]!;
    const count = violationCount(s, c, step0 + last, cmds[last]!, obs[last]!, actual[last]!, others(o, obs));
    if (count < fewest) {
      fewest = count;
      byState = seq.slice();
      injOfState = inj;
    }
    return count === 0;
  };
  let injOfOrder: LinChoice | undefined;
  // Every sequence of points, with every candidate choice at each (the choice varying fastest).
  // Most groups are linearized by one of their first few: those are run one spec run each, from
  // the state before the group; past QUICK_RUNS, the search starts again sharing prefixes (it
  // meets the same first pairs in the same order, so what it records first is the same).
  const linearizeBy = (same: Same): readonly LinPoint[] | undefined => {
    let runs = 0;
    let over = false;
    const quick = linearizePoints(run.tasks, rules!, (seq) => {
      for (const inj of candidates) {
        if (runs++ === QUICK_RUNS) return (over = true);
        const r = safely(() => specRunAlong(s.spec, cmds, seq, false, inj));
        if (r !== undefined && accepts(same, seq, r)) {
          injOfOrder = inj;
          return true;
        }
      }
      return false;
    });
    if (!over) return quick;
    // The rest shares every prefix among the sequences through it; a candidate whose member has
    // ended with another observation than the kernel's is not run further there.
    // A choice the spec throws on before any point gives no history.
    const roots: SpecRun[] = [];
    for (const inj of candidates) {
      const r = safely(() => beginSpecRun(s.spec, cmds, inj));
      if (r !== undefined) roots.push(r);
    }
    return searchPoints(run.tasks, rules!, roots, {
      fork: forkSpecRun,
      key: specRunKey,
      step: (r, p) => {
        if (safely(() => stepSpecRun(r, cmds, p)) !== true) return false;
        if (p.point < rules!.points[p.member]! - 1) return true;
        const got = finalObservation(r, cmds, p.member);
        return got !== undefined && same(cmds[p.member]!, got, actual[p.member]!);
      },
      accept: (seq, live) => {
        for (const r of live) {
          if (accepts(same, seq, r)) {
            injOfOrder = r.choice;
            return true;
          }
        }
        return false;
      },
    });
  };
  const exact = (_: Command, expected: Observation, got: Observation): boolean => sameObservation(expected, got);
  const excusable = (cmd: Command, expected: Observation, got: Observation): boolean =>
    sameObservation(expected, got) || knownExplains(s, observationViolation(cmd, expected, got));
  let order: readonly LinPoint[] | undefined;
  let orderInj: LinChoice | undefined;
  /** The first of: the pass's exact order, the fewest-violations one, the first by view, the first by observation. */
  const choose = (found: readonly LinPoint[] | undefined): boolean => {
    [order, orderInj] = found !== undefined ? [found, injOfOrder] : byState !== undefined ? [byState, injOfState]
      : byView !== undefined ? [byView, injOfView] : [byObservation, injOfObservation];
    return order !== undefined;
  };
  if (rules !== undefined && !choose(linearizeBy(exact)) && !s.strict) choose(linearizeBy(excusable));
  // Adopt it on the session's own spec (its coverage sees the chosen order only); without one,
  // the command order, so the record still says what the spec expects.
  const adoptedPoints = order ?? atomicPoints(s.spec, cmds, PERMS[n]![0]!);
  const adopted = completionOrder(adoptedPoints);
  // A LIN report prints every order's spec observations from the state before the group.
  const specBefore = order === undefined && thrownAt < 0 ? cloneSpec(s.spec) : undefined;
  const expected: Observation[] = new Array<Observation>(n);
  try {
    const obs = specInPoints(s.spec, cmds, adoptedPoints, true, order === undefined ? candidates[0] : orderInj);
    if (obs === undefined) throw new Error('a precondition failed in the adopted order');
    // The IDs the kernel's interleaving allocated, where the order was accepted under a renaming.
    if (order !== undefined && !matchesSpec(world, s.spec)) adoptAllocatedIds(s.spec, viewOfWorld());
    for (const i of adopted) expected[i] = obs[i]!;
  } catch (e) {
    const steps = cmds.map((_, i): TraceStep => ({ expected: expected[i] ?? threw(e), actual: actual[i]! }));
    return { found: finishGroup(s, step0, steps, buckets, sched, run, [exceptionViolation(cmds[adopted[0]!]!, 'spec', e)], n - 1), run };
  }
  const steps = cmds.map((_, i): TraceStep => ({ expected: expected[i]!, actual: actual[i]! }));

  const last = adopted[n - 1]!;
  let found: readonly Violation[];
  let at = step0 + last;
  if (thrownAt >= 0) {
    found = [exceptionViolation(cmds[thrownAt]!, 'impl', (outcomes[thrownAt] as { thrown: unknown }).thrown)];
    at = step0 + thrownAt;
  } else if (order === undefined) {
    at = step0 + lastToFinish(run.tasks, n);
    // A known finding whose path ran may explain the history (a member it left asleep).
    found = excuseKnown(s, at, [linViolation(specBefore!, cmds, run, actual, candidates[0])]);
    if (atYield !== undefined && excuseKnown(s, at, [atYield]).length > 0) found = [atYield, ...found];
  } else {
    found = quiescentChecks(s, at, cmds[last]!, expected[last]!, actual[last]!, others(adopted, expected));
  }
  // What an at-yield check saw is still there at the quiescent point (the kernel log, the
  // anomaly log and the probe's time-outs persist), where a known finding may excuse it; if
  // not, the at-yield violation says better where it happened: it replaces the quiescent one.
  const same = atYield === undefined || thrownAt >= 0 ? -1 : found.findIndex((v) => v.invariant === atYield!.invariant);
  if (same >= 0) {
    found = [atYield!, ...found.filter((_, i) => i !== same)];
    at = step0 + Math.min(atYield!.objects.task ?? 0, n - 1);
  }
  return { found: finishGroup(s, step0, steps, buckets, sched, run, found, at - step0), run };
};

/** The member that finished last (the history's end): where a LIN violation is reported. */
const lastToFinish = (tasks: readonly GroupTask[], n: number): number => {
  let best = n - 1;
  for (let i = 0; i < n; i++) if (tasks[i]!.doneAt > tasks[best]!.doneAt) best = i;
  return best;
};

/** Whether `order` puts every member that finished before another began ahead of it. */
const respectsRealTime = (tasks: readonly GroupTask[], order: readonly number[]): boolean => {
  for (let a = 0; a < order.length; a++) {
    for (let b = a + 1; b < order.length; b++) {
      const early = tasks[order[b]!]!;
      const late = tasks[order[a]!]!;
      if (early.doneAt >= 0 && late.firstAt >= 0 && early.doneAt < late.firstAt) return false;
    }
  }
  return true;
};

/**
 * LIN: the history (each member's command, lane, first and last point, observation) and what
 * the spec says for each order, so the reader sees which observation no order explains.
 */
const linViolation = (specBefore: SpecState, cmds: readonly Command[], run: GroupRun, actual: readonly Observation[], inj: LinChoice | undefined): Violation => {
  const n = cmds.length;
  const lines = ['no sequential order of the group gives its observations (not linearizable). History:'];
  for (let i = 0; i < n; i++) {
    const t = run.tasks[i]!;
    lines.push(`  ${t.name} (${t.kind}) ${formatCommand(cmds[i]!)}: points ${t.firstAt}..${t.doneAt}, returned ${formatObservation(cmds[i]!, actual[i]!)}`);
  }
  lines.push(`  schedule: ${run.points} points, switches ${run.schedule.switches.map((w) => `${w.at}→${run.tasks[w.to]?.name ?? w.to}`).join(', ') || 'none'}`);
  lines.push('The spec, order by order:');
  for (const order of PERMS[n]!) {
    const label = order.map((i) => run.tasks[i]!.name).join(' ; ');
    if (!respectsRealTime(run.tasks, order)) {
      lines.push(`  ${label}: excluded by real time`);
      continue;
    }
    const obs = specInPointsSafe(specBefore, cmds, atomicPoints(specBefore, cmds, order), false, inj);
    lines.push(`  ${label}: ${obs === undefined ? 'illegal' : order.map((i) => `${run.tasks[i]!.name} ${formatObservation(cmds[i]!, obs[i]!)}`).join(', ')}`);
  }
  // The sequences that put a device access inside a two-point member's window.
  const rules = pointRules(specBefore, cmds);
  const windows: LinPoint[][] = [];
  linearizePoints(run.tasks, rules, (seq) => {
    if (!isAtomic(seq)) windows.push(seq.slice());
    return false;
  });
  if (windows.length > 0) lines.push('Inside a window (replacePasid X.1: the old entry torn down, X.2: the new one set up; exit X.1: its release begun; serviceFaults X.k: its k-th work item):');
  for (const seq of windows) {
    const label = seq.map((p) => `${run.tasks[p.member]!.name}${rules.points[p.member]! > 1 ? `.${p.point + 1}` : ''}`).join(' ; ');
    const obs = specInPointsSafe(specBefore, cmds, seq, false, inj);
    const order = completionOrder(seq);
    lines.push(`  ${label}: ${obs === undefined ? 'illegal' : order.map((i) => `${run.tasks[i]!.name} ${formatObservation(cmds[i]!, obs[i]!)}`).join(', ')}`);
  }
  return { invariant: LIN_ID, objects: {}, message: lines.join('\n') };
};

const finishGroup = (
  s: Session, step0: number, steps: readonly TraceStep[], buckets: GroupEvent[][] | undefined, sched: GroupSchedule,
  run: GroupRun | undefined, found: readonly Violation[], at: number,
): readonly Violation[] => {
  s.watch?.leave();
  const n = steps.length;
  if (buckets !== undefined) {
    // What was emitted after the last point (none today) belongs to the group's end.
    const rest: readonly TraceEvent[] = s.log!.take();
    for (let i = 0; i < n; i++) s.steps.push({ ...steps[i]!, events: i === n - 1 ? [...buckets[i]!, ...rest] : buckets[i]! });
  } else {
    for (const st of steps) s.steps.push(st);
  }
  s.groups.push({
    at: step0,
    size: n,
    scheduler: sched.scheduler,
    seed: sched.seed,
    ...(sched.depth === undefined ? {} : { depth: sched.depth }),
    switches: run?.schedule.switches ?? sched.switches ?? [],
    ...(run?.trace === undefined ? {} : { tasks: run.tasks, points: run.trace }),
  });
  if (found.length > 0 && s.violation === undefined) s.violation = toTraceViolation(found[0]!, step0 + at);
  return found;
};
