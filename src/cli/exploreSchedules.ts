/**
 * `sva-harness explore-schedules`: the preemption-bounded exhaustive scheduler (CHESS) on a
 * saved trace's first concurrent group. The commands before the group are its sequential
 * prefix, the group's members are the tasks; the trace's fault and fixes apply as on replay.
 * The first failing schedule comes back as a trace that `replay` and `show` take.
 */
import { exploreGroup } from '../harness/groupExplore.js';
import { type SessionOptions, runSequence } from '../harness/index.js';
import { isFaultId, isFindingName } from '../shared/index.js';
import { type Checked, type Trace, bad, good, newTrace } from '../trace/index.js';

/**
 * The trace's fault and fixes as session options. Only corpus faults: a test-only fault needs
 * its test driver, which models/ supplies to replay and the CLI must not import.
 */
const sessionOptions = (trace: Trace): Checked<SessionOptions> => {
  const unknownFix = (trace.fixes ?? []).find((f) => !isFindingName(f));
  if (unknownFix !== undefined) return bad(`the trace names an unknown finding fix '${unknownFix}'`);
  const fixes = (trace.fixes ?? []).filter(isFindingName);
  const name = trace.fault;
  if (name !== undefined && !isFaultId(name)) return bad(`the trace's fault '${name}' is not a corpus fault (explore-schedules runs corpus faults only)`);
  return good({ ...(name === undefined ? {} : { fault: name }), ...(fixes.length === 0 ? {} : { fixes }) });
};

export interface ScheduleExploration {
  readonly schedules: number;
  /** Every schedule within the bound ran (not stopped by the limit or a failure). */
  readonly complete: boolean;
  readonly preemptions: number;
  /** The first failing schedule, replayable: the prefix, the group with its switches, the violation. */
  readonly failing: Trace | undefined;
  readonly invariant: string | undefined;
}

export const exploreSchedules = (trace: Trace, preemptions: number, limit: number): Checked<ScheduleExploration> => {
  const g = trace.groups?.[0];
  if (g === undefined) return bad('the trace has no concurrent group (record one with run --groups F)');
  const opts = sessionOptions(trace);
  if (!opts.ok) return opts;
  const prefix = trace.commands.slice(0, g.at);
  const cmds = trace.commands.slice(g.at, g.at + g.size);
  let r: ReturnType<typeof exploreGroup>;
  try {
    r = exploreGroup(trace.topology, prefix, cmds, preemptions, limit, opts.value);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (r.found === undefined) return good({ schedules: r.schedules, complete: r.complete, preemptions, failing: undefined, invariant: undefined });
  const group = { at: g.at, size: g.size, scheduler: 'exhaustive' as const, seed: 0, switches: r.found.switches };
  const again = runSequence(trace.topology, [...prefix, ...cmds], { ...opts.value, events: true, groups: [group] });
  if (!again.ok) return bad(`the failing schedule does not replay: ${again.error}`);
  const s = again.value.session;
  const failing = newTrace({
    topology: trace.topology, seed: trace.seed,
    ...(trace.fault === undefined ? {} : { fault: trace.fault }),
    ...(trace.fixes === undefined ? {} : { fixes: trace.fixes }),
    commands: s.commands, steps: s.steps,
    ...(s.groups.length === 0 ? {} : { groups: s.groups }),
    ...(s.violation === undefined ? {} : { violation: s.violation }),
  });
  return good({ schedules: r.schedules, complete: false, preemptions, failing, invariant: r.invariant });
};
