/**
 * The checked step (DESIGN §2), in order: the spec's expectation, the impl's result, the
 * hardware anomalies of the step, every registered invariant plus the observation half of
 * refinement, then the record. This is the hot path: no string or JSON building unless a
 * check fails or a trace sink is attached.
 */
import type { CheckContext, Violation } from '../../properties/invariant.js';
import { INVARIANTS } from '../../properties/registry.js';
import type { Anomaly } from '../hw/mem.js';
import { STEP_WORK_BUDGET, SoftLockup, armWorkMeter, disarmWorkMeter } from '../hw/work.js';
import { implStep } from '../impl/index.js';
import type { Command, Observation } from '../shared/index.js';
import { sameObservation } from '../shared/index.js';
import { specStep } from '../spec/index.js';
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
  let expected: Observation;
  try {
    expected = specStep(s.spec, cmd);
  } catch (e) {
    return finish(s, step, { expected: threw(e), actual: threw(e) }, [exceptionViolation(cmd, 'spec', e)]);
  }
  s.probe.begin();
  s.world.kernel.findingHits.length = 0;
  let actual: Observation;
  armWorkMeter(STEP_WORK_BUDGET);
  try {
    actual = implStep(s.world, cmd);
  } catch (e) {
    // An exception out of the kernel logic is a finding; the invariants would only trip over
    // the half-done state it left, so they are not run. The work meter's is a soft lockup.
    const v = e instanceof SoftLockup ? lockupViolation(cmd, e) : exceptionViolation(cmd, 'impl', e);
    return finish(s, step, { expected, actual: threw(e) }, [v]);
  } finally {
    disarmWorkMeter();
  }
  const taken = s.world.kernel.mem.takeAnomalies();
  const ctx: CheckContext = {
    step, cmd, expected, actual, spec: s.spec, world: s.world,
    anomalies: taken.length === 0 ? NO_ANOMALIES : taken,
    probe: s.probe,
  };
  let found = sameObservation(expected, actual) ? NONE : [observationViolation(cmd, expected, actual)];
  // Indexed loop: this runs once per invariant per step.
  for (let i = 0; i < INVARIANTS.length; i++) {
    const inv = INVARIANTS[i]!;
    let v: readonly Violation[];
    try {
      v = inv.check(ctx);
    } catch (e) {
      v = [{ invariant: inv.id, objects: {}, message: `the check threw: ${firstLine(e)}` }];
    }
    if (v.length > 0) found = found.length === 0 ? v : found.concat(v);
  }
  if (found.length > 0) found = excuseKnown(s, step, found);
  return finish(s, step, { expected, actual }, found);
};

const finish = (s: Session, step: number, record: TraceStep, found: readonly Violation[]): readonly Violation[] => {
  s.watch?.leave();
  s.steps.push(s.log === undefined ? record : { ...record, events: s.log.take() });
  if (found.length > 0 && s.violation === undefined) s.violation = toTraceViolation(found[0]!, step);
  return found;
};
