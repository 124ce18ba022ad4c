import type { HarnessRunner } from '../harness/index.js';
import { isFaultId } from '../shared/index.js';
import type { Trace } from '../trace/index.js';

/**
 * The same commands on the kernel after the fix: the trace replayed with its corpus fault off.
 * Undefined when there is no runner, no corpus fault, or the replay is refused.
 */
export const fixedRun = (runner: HarnessRunner | undefined, trace: Trace): Trace | undefined => {
  if (runner === undefined || trace.fault === undefined || !isFaultId(trace.fault)) return undefined;
  const { fault: _fault, violation: _v, ...rest } = trace;
  const r = runner.replay({ ...rest, steps: [] });
  return r.ok ? r.value.trace : undefined;
};
