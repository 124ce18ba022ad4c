/**
 * The checked step (DESIGN §2), in order: the spec's expectation, the impl's result, the
 * hardware anomalies of the step, every registered invariant plus the observation half of
 * refinement, then the record. This is the hot path: no string or JSON building unless a
 * check fails or a trace sink is attached.
 */
import type { CheckContext, Violation } from '../../properties/invariant.js';
import { failFootprint, iommufdFootprint } from '../../properties/lifecycle/failedCall.js';
import { INVARIANTS } from '../../properties/registry.js';
import type { Anomaly } from '../hw/mem.js';
import { STEP_WORK_BUDGET, SoftLockup, armWorkMeter, disarmWorkMeter } from '../hw/work.js';
import { implStep, injected_site } from '../impl/index.js';
import type { Command, FailSite, Observation } from '../shared/index.js';
import { sameObservation } from '../shared/index.js';
import { type AbstractView, abstractView, cloneSpec, diffViews, specStep, type SpecState } from '../spec/index.js';
import type { World } from '../impl/index.js';
import { abstract } from '../../properties/abstraction.js';
import { hwQueued } from '../../properties/hardware/priRead.js';
import { matchesSpec } from '../../properties/lifecycle/refinementMatch.js';
import type { TraceStep } from '../trace/index.js';
import { excuseKnown } from './known.js';
import type { Session } from './session.js';
import { exceptionViolation, firstLine, lockupViolation, observationViolation, toTraceViolation } from './violation.js';

const NONE: readonly Violation[] = Object.freeze([]);
const NO_ANOMALIES: readonly Anomaly[] = Object.freeze([]);

/** What a thrown step records as its actual observation: the violation carries the detail. */
const threw = (e: unknown): Observation => ({ ok: false, errno: 'EFAULT', fault: `threw: ${firstLine(e)}` });

/**
 * One command on both sides. The caller has checked the spec's precondition. Returns the
 * violations found (empty when every rule held) and records the step in the session; the
 * first violation is also kept as the session's.
 */
export const checkedStep = (s: Session, cmd: Command): readonly Violation[] => {
  const step = s.commands.length;
  s.commands.push(cmd);
  s.watch?.enter(s, cmd);
  // With an injection armed the kernel runs first: which call failed (its FAULT_INJECTION
  // report) is the one input the spec needs to say what the command must return and leave.
  if (injectionArmed(s.spec)) return injectedStep(s, step, cmd);
  let expected: Observation;
  try {
    expected = specStep(s.spec, cmd);
  } catch (e) {
    return finish(s, step, { expected: threw(e), actual: threw(e) }, [exceptionViolation(cmd, 'spec', e)]);
  }
  const actual = implHalf(s, step, cmd, expected);
  return Array.isArray(actual) ? actual : check(s, step, cmd, expected, actual as Observation);
};

/**
 * The impl half of a step, under the work meter: its observation, or the finished step when the
 * kernel logic threw. `expected` is undefined when the spec has not run yet (an armed injection).
 */
const implHalf = (s: Session, step: number, cmd: Command, expected: Observation | undefined): Observation | readonly Violation[] => {
  s.probe.begin();
  s.probe.before = cmd.kind === 'bind' ? failFootprint(s.world, cmd.mm)
    : cmd.kind === 'attachPasid' || cmd.kind === 'replacePasid' ? iommufdFootprint(s.world, cmd) : undefined;
  s.world.kernel.findingHits.length = 0;
  armWorkMeter(STEP_WORK_BUDGET);
  try {
    return implStep(s.world, cmd);
  } catch (e) {
    // An exception out of the kernel logic is a finding; the invariants would only trip over
    // the half-done state it left, so they are not run. The work meter's is a soft lockup.
    const v = e instanceof SoftLockup ? lockupViolation(cmd, e) : exceptionViolation(cmd, 'impl', e);
    return finish(s, step, { expected: expected ?? threw(e), actual: threw(e) }, [v]);
  } finally {
    disarmWorkMeter();
  }
};

const injectedStep = (s: Session, step: number, cmd: Command): readonly Violation[] => {
  const result = implHalf(s, step, cmd, undefined);
  if (Array.isArray(result)) return result;
  const actual = result as Observation;
  let expected: Observation;
  try {
    expected = injectedExpectation(s.spec, s.world, cmd, actual);
  } catch (e) {
    return finish(s, step, { expected: threw(e), actual }, [exceptionViolation(cmd, 'spec', e)]);
  }
  return check(s, step, cmd, expected, actual);
};

/**
 * Opportunities a bind has to make one call (per attempted domain, per group device), or any
 * command to allocate an IOPF group (one per reported LAST), bound how far the search goes.
 */
const MAX_ATTEMPTS = 16;

/**
 * Which opportunity to make the failed call the kernel took: the first k whose spec
 * observation and abstract state are the kernel's, else the first whose observation is, else
 * 0 (the mismatch then shows). Tried on copies, so the spec's state and coverage see only the
 * chosen one.
 */
const failedAttempt = (spec: SpecState, world: World, cmd: Command, site: FailSite, actual: Observation): number => {
  const attempts = injectAttempts(cmd, site);
  if (attempts === 1) return 0;
  let byObservation = -1;
  for (let k = 0; k < attempts; k++) {
    const c = cloneSpec(spec);
    c.coverage = undefined;
    c.injected = site;
    c.injectSkip = k;
    if (!sameObservation(specStep(c, cmd), actual)) continue;
    if (kernelStateIs(world, c, () => abstract(world))) return k;
    if (byObservation < 0) byObservation = k;
  }
  return Math.max(byObservation, 0);
};

/**
 * How many opportunities `cmd` has to make the failed call at `site`: a group's PASID attach
 * (bind, or iommufd's attach and replace) tries each device in turn, and a serviceFaults
 * allocates one IOPF group per LAST; which attempt failed decides what the unwind drained.
 * Any other command makes its one call there.
 */
export const injectAttempts = (cmd: Command, site: FailSite): number =>
  cmd.kind === 'bind' || cmd.kind === 'attachPasid' || cmd.kind === 'replacePasid' || site === 'kzalloc@iopf_group_alloc' ? MAX_ATTEMPTS : 1;

/**
 * The page requests still outstanding per device agree, and so do those still in the IOMMUs'
 * hardware queues (a group attach undone after its first device drains that device's IOMMU:
 * a request with no answer to wait for, on the RID, is only taken off the queue; the abstract
 * view holds neither), and which endpoints a Response Failure turned off (the abort group's;
 * VT-d and AMD: an SMMUv3 stall master is resumed with an abort instead).
 */
const priMatches = (world: World, spec: SpecState): boolean =>
  world.devices.every((d) => (d.hw.priState?.outstanding.length ?? 0) === spec.outstanding[d.id] &&
    hwQueued(world, d).length === specQueued(spec, d.id) &&
    (spec.t.topology.platform === 'smmuv3' || (d.hw.priState?.responseFailure === true ? 1 : 0) === spec.priFailed[d.id]));

/**
 * Whether the kernel's abstract view is the spec's, by the fast path or built (`view`: the
 * kernel's, built once by the caller), or after `renamed` adopts the IDs the kernel allocated
 * in another order.
 */
export const viewIs = (world: World, spec: SpecState, view: () => AbstractView, renamed?: (spec: SpecState) => boolean): boolean =>
  matchesSpec(world, spec) || diffViews(abstractView(spec), view()).length === 0 || (renamed?.(spec) ?? false);

/**
 * How often each user page was populated agrees: the abstract view shows a page's content token
 * only while it is mapped, so a page a group's fault handler populated and its munmap then
 * unmapped looks the same as one never populated, until the next population's token differs
 * (amd seed 801729: serviceFaults beside a munmap of the faulted page).
 */
const populationMatches = (world: World, spec: SpecState): boolean => {
  const pages = spec.t.topology.pages;
  for (let slot = 0; slot < spec.slots.length; slot++) {
    const gen = spec.slots[slot]!.popGen;
    for (let p = 0; p < pages; p++) if (world.content.userGen(slot, p) !== gen[p]) return false;
  }
  return true;
};

/**
 * The kernel's state the abstract view does not hold is the spec's: the page-request state
 * (which endpoints a Response Failure turned off: the group an injected allocation failure
 * aborted; priMatches) and the pages' population counts (populationMatches).
 */
export const hiddenStateIs = (world: World, spec: SpecState): boolean => priMatches(world, spec) && populationMatches(world, spec);

/** Whether the kernel's state after a command is the spec's `spec`: hiddenStateIs, then the abstract view (viewIs). */
export const kernelStateIs = (world: World, spec: SpecState, view: () => AbstractView, renamed?: (spec: SpecState) => boolean): boolean =>
  hiddenStateIs(world, spec) && viewIs(world, spec, view, renamed);

const specQueued = (spec: SpecState, dev: number): number => {
  let n = 0;
  for (const r of spec.prq) if (r.dev === dev) n++;
  return n;
};

/** Whether the next command runs with a fault injection armed (failNext or failNth). */
export const injectionArmed = (spec: SpecState): boolean => spec.failArmed !== undefined || spec.failNth > 0;

/**
 * The spec's expectation for a command the kernel already ran with an injection armed: the
 * spec is told which call failed, if one did (the kernel's FAULT_INJECTION report), and at
 * which of the command's opportunities.
 */
export const injectedExpectation = (spec: SpecState, world: World, cmd: Command, actual: Observation): Observation => {
  const site = injected_site(world.kernel);
  spec.injectSkip = site === undefined ? 0 : failedAttempt(spec, world, cmd, site, actual);
  spec.injected = site;
  return specStep(spec, cmd);
};

/** One command on both sides, in the order the checked step uses, without the checks. */
export const stepBoth = (spec: SpecState, world: World, cmd: Command): { expected: Observation; actual: Observation } => {
  if (injectionArmed(spec)) {
    const actual = implStep(world, cmd);
    return { expected: injectedExpectation(spec, world, cmd, actual), actual };
  }
  const expected = specStep(spec, cmd);
  return { expected, actual: implStep(world, cmd) };
};

const check = (s: Session, step: number, cmd: Command, expected: Observation, actual: Observation): readonly Violation[] =>
  finish(s, step, { expected, actual }, quiescentChecks(s, step, cmd, expected, actual));

/** A group member other than the one a quiescent check runs on: its command and observations. */
export interface OtherMember {
  readonly cmd: Command;
  readonly expected: Observation;
  readonly actual: Observation;
}

/**
 * At a quiescent point: the observation half of refinement and every registered invariant on
 * `cmd` (the step's, or a group's last member in its linearization), known findings excused.
 * A group's other members are in `others`: the hardware work of the whole group is in the
 * probe and the device logs, so an invariant that reads the command (which of them may answer
 * page requests, tear a PASID down, DMA) could blame one member for another's effects. Its
 * violations stand only if the invariant fires with every member as the command; the spec and
 * world stay the final ones, so an invariant that does not read the command cannot be excused.
 */
export const quiescentChecks = (
  s: Session, step: number, cmd: Command, expected: Observation, actual: Observation, others: readonly OtherMember[] = NONE_OTHER,
): readonly Violation[] => {
  const taken = s.world.kernel.mem.takeAnomalies();
  const ctx: CheckContext = {
    step, cmd, expected, actual, spec: s.spec, world: s.world,
    anomalies: taken.length === 0 ? NO_ANOMALIES : taken,
    probe: s.probe,
  };
  let found = sameObservation(expected, actual) ? NONE : [observationViolation(cmd, expected, actual)];
  for (let j = 0; j < others.length; j++) {
    const o = others[j]!;
    if (!sameObservation(o.expected, o.actual)) found = found.concat([observationViolation(o.cmd, o.expected, o.actual)]);
  }
  // Indexed loop: this runs once per invariant per step.
  for (let i = 0; i < INVARIANTS.length; i++) {
    const inv = INVARIANTS[i]!;
    let v = runInvariant(inv, ctx);
    for (let j = 0; v.length > 0 && j < others.length; j++) {
      const o = others[j]!;
      if (runInvariant(inv, { ...ctx, cmd: o.cmd, expected: o.expected, actual: o.actual }).length === 0) v = NONE;
    }
    if (v.length > 0) found = found.length === 0 ? v : found.concat(v);
  }
  // With nothing found, a finding's path that ran is still recorded as met (a persistent excuse
  // covers what it left for later steps).
  if (found.length > 0 || s.world.kernel.findingHits.length > 0) found = excuseKnown(s, step, found);
  return found;
};

const NONE_OTHER: readonly OtherMember[] = Object.freeze([]);

/**
 * How many violations the registered invariants report with `spec` as the spec's state (a
 * candidate order's, for a group's linearization), judged as quiescentChecks judges, known
 * findings not excused; the anomaly log is read, not taken.
 */
export const violationCount = (
  s: Session, spec: SpecState, step: number, cmd: Command, expected: Observation, actual: Observation, others: readonly OtherMember[],
): number => {
  const anomalies = s.world.kernel.mem.anomalies;
  const ctx: CheckContext = {
    step, cmd, expected, actual, spec, world: s.world, anomalies: anomalies.length === 0 ? NO_ANOMALIES : anomalies, probe: s.probe,
  };
  let count = 0;
  for (let i = 0; i < INVARIANTS.length; i++) {
    const inv = INVARIANTS[i]!;
    const v = runInvariant(inv, ctx);
    if (v.length === 0) continue;
    if (!others.some((o) => runInvariant(inv, { ...ctx, cmd: o.cmd, expected: o.expected, actual: o.actual }).length === 0)) count += v.length;
  }
  return count;
};

const runInvariant = (inv: (typeof INVARIANTS)[number], ctx: CheckContext): readonly Violation[] => {
  try {
    return inv.check(ctx);
  } catch (e) {
    return [{ invariant: inv.id, objects: {}, message: `the check threw: ${firstLine(e)}` }];
  }
};

const finish = (s: Session, step: number, record: TraceStep, found: readonly Violation[]): readonly Violation[] => {
  s.watch?.leave();
  s.steps.push(s.log === undefined ? record : { ...record, events: s.log.take() });
  if (found.length > 0 && s.violation === undefined) s.violation = toTraceViolation(found[0]!, step);
  return found;
};
