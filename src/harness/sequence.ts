/**
 * Replay without fast-check: a command list on a fresh session, stopping at the first
 * violation. A saved trace needs nothing else (DESIGN §8).
 */
import type { ReplayResult } from './runner.js';
import type { Command, Topology } from '../shared/index.js';
import { abstractView, precondition } from '../spec/index.js';
import { type Checked, bad, formatCommand, good, newTrace } from '../trace/index.js';
import type { Trace, TraceGroup } from '../trace/index.js';
import { checkedGroup, groupLegal } from './group.js';
import { type Session, type SessionOptions, openSession } from './session.js';
import { checkedStep } from './step.js';

export interface SequenceOptions extends SessionOptions {
  /** Keep the spec's abstract view before and after the failing step (for the state diff). */
  readonly views?: boolean;
  /** Concurrent groups among the commands (a trace's `groups`), replayed by their switches. */
  readonly groups?: readonly TraceGroup[];
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
  const groups = opts.groups ?? [];
  let g = 0;
  for (let i = 0; i < commands.length; i++) {
    const cmd = commands[i]!;
    const group = groups[g]?.at === i ? groups[g++] : undefined;
    const members = group === undefined ? undefined : commands.slice(i, i + group.size);
    if (members !== undefined ? !groupLegal(session.spec, members) : !precondition(session.spec, cmd)) {
      const what = members === undefined ? formatCommand(cmd) : `the group ${members.map(formatCommand).join(' | ')}`;
      return bad(`step ${i}: ${what} breaks its caller contract in the state reached`);
    }
    const before = views ? abstractView(session.spec) : undefined;
    // A recorded group replays exactly by its switches, and is recorded again as it was found.
    const found = group === undefined ? checkedStep(session, cmd) : checkedGroup(session, members!, {
      scheduler: group.scheduler, seed: group.seed, switches: group.switches, ...(group.depth === undefined ? {} : { depth: group.depth }),
    });
    if (group !== undefined) i += group.size - 1;
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
  const r = runSequence(trace.topology, trace.commands, { ...opts, events: true, views: true, ...(trace.groups === undefined ? {} : { groups: trace.groups }) });
  if (!r.ok) return r;
  const { session, stateBefore, stateAfter } = r.value;
  const { formatVersion: _v, harnessVersion: _h, steps: _s, violation: _old, fault: recorded, groups: _g, ...header } = trace;
  const fault = opts.fault ?? (opts.driver === undefined ? undefined : recorded);
  const again = newTrace({
    ...header,
    ...(fault === undefined ? {} : { fault }),
    ...(session.groups.length === 0 ? {} : { groups: session.groups }),
    steps: session.steps,
    ...(session.violation === undefined ? {} : { violation: session.violation }),
  });
  return good({
    trace: again,
    ...(stateBefore === undefined ? {} : { stateBefore }),
    ...(stateAfter === undefined ? {} : { stateAfter }),
  });
};
