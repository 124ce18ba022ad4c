/**
 * Replay without fast-check: a command list on a fresh session, stopping at the first
 * violation. A saved trace needs nothing else (DESIGN §8).
 */
import type { ReplayResult } from './runner.js';
import type { Command, Topology } from '../shared/index.js';
import { abstractView, precondition } from '../spec/index.js';
import { type Checked, bad, formatCommand, good, newTrace } from '../trace/index.js';
import type { Trace } from '../trace/index.js';
import { type Session, type SessionOptions, openSession } from './session.js';
import { checkedStep } from './step.js';

export interface SequenceOptions extends SessionOptions {
  /** Keep the spec's abstract view before and after the failing step (for the state diff). */
  readonly views?: boolean;
}

export interface SequenceResult {
  readonly session: Session;
  readonly stateBefore?: unknown;
  readonly stateAfter?: unknown;
}

/**
 * Runs `commands` in order. A command whose precondition does not hold is an input error (a
 * hand-edited trace), reported as one line; a violation is a result, not an error.
 */
export const runSequence = (topology: Topology, commands: readonly Command[], opts: SequenceOptions = {}): Checked<SequenceResult> => {
  const session = openSession(topology, opts);
  const views = opts.views === true;
  for (const [i, cmd] of commands.entries()) {
    if (!precondition(session.spec, cmd)) {
      return bad(`step ${i}: ${formatCommand(cmd)} breaks its caller contract in the state reached`);
    }
    const before = views ? abstractView(session.spec) : undefined;
    const found = checkedStep(session, cmd);
    if (found.length > 0 || session.ended) {
      return good(views ? { session, stateBefore: before, stateAfter: abstractView(session.spec) } : { session });
    }
  }
  return good({ session });
};

/**
 * Re-executes a trace's commands with events on; the result is the trace as it ran now. The
 * caller chooses the fault (`opts.fault`; none by default, so a recorded fault can be replayed
 * with and without it), and the result records the fault it ran with. A test driver stands
 * in for the trace's test-only fault, so with one the recorded name is kept.
 */
export const replayTrace = (trace: Trace, opts: SessionOptions = {}): Checked<ReplayResult> => {
  const r = runSequence(trace.topology, trace.commands, { ...opts, events: true, views: true });
  if (!r.ok) return r;
  const { session, stateBefore, stateAfter } = r.value;
  const { formatVersion: _v, harnessVersion: _h, steps: _s, violation: _old, fault: recorded, ...header } = trace;
  const fault = opts.fault ?? (opts.driver === undefined ? undefined : recorded);
  const again = newTrace({
    ...header,
    ...(fault === undefined ? {} : { fault }),
    steps: session.steps,
    ...(session.violation === undefined ? {} : { violation: session.violation }),
  });
  return good({
    trace: again,
    ...(stateBefore === undefined ? {} : { stateBefore }),
    ...(stateAfter === undefined ? {} : { stateAfter }),
  });
};
