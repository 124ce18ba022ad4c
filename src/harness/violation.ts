/**
 * The harness's own findings, beside the registered invariants: an observation the spec did
 * not predict (the first half of refinement; the state-abstraction half is an invariant in
 * properties/) and an exception out of the impl (DESIGN §3: an exception is a finding).
 */
import type { Violation } from '../../properties/invariant.js';
import { INVARIANTS } from '../../properties/registry.js';
import type { SoftLockup } from '../hw/work.js';
import type { Command, Observation } from '../shared/index.js';
import { formatCommand, formatObservation } from '../trace/index.js';
import type { TraceViolation } from '../trace/index.js';

/** Observation refinement: the impl returned what the spec predicted. */
export const OBS_ID = 'OBS';
/** The impl (or the spec) threw instead of returning a value. */
export const EXC_ID = 'EXC';
/** A step that does not end: too much hardware work (src/hw/work.ts) or, under the CLI's watchdog, too much wall time. */
export const LOCKUP_ID = 'I-LOCKUP';

const HARNESS_TITLES: Readonly<Record<string, string>> = {
  [OBS_ID]: 'the observation refines the spec',
  [EXC_ID]: 'no exception out of the kernel logic',
  [LOCKUP_ID]: 'every step ends: no soft lockup',
};

/** The ids a command names (dev, mm, page, ...), for a violation's `objects`. */
export const commandObjects = (cmd: Command): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(cmd)) if (typeof v === 'number') out[k] = v;
  return out;
};

export const observationViolation = (cmd: Command, expected: Observation, actual: Observation): Violation => ({
  invariant: OBS_ID,
  objects: commandObjects(cmd),
  message: `${formatCommand(cmd)} returned ${formatObservation(cmd, actual)}, the spec expects ${formatObservation(cmd, expected)}`,
});

/** The first line of whatever was thrown: the rest is a stack. */
export const firstLine = (e: unknown): string => {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.split('\n')[0] ?? '';
};

export const exceptionViolation = (cmd: Command, side: 'impl' | 'spec', e: unknown): Violation => ({
  invariant: EXC_ID,
  objects: commandObjects(cmd),
  message: `${side} threw on ${formatCommand(cmd)}: ${firstLine(e)}`,
});

/** The work meter stopped the step (src/hw/work.ts). */
export const lockupViolation = (cmd: Command, e: SoftLockup): Violation => ({
  invariant: LOCKUP_ID,
  objects: commandObjects(cmd),
  message: `watchdog: BUG: soft lockup in ${formatCommand(cmd)}: ${e.spent} units of hardware work, the budget of one step is ${e.budget}`,
});

/** The title of an invariant id (registered or the harness's own). */
export const invariantTitle = (id: string): string =>
  HARNESS_TITLES[id] ?? INVARIANTS.find((i) => i.id === id)?.title ?? '';

export const toTraceViolation = (v: Violation, step: number): TraceViolation => ({
  invariant: v.invariant,
  title: invariantTitle(v.invariant),
  step,
  objects: v.objects,
  message: v.message,
});
