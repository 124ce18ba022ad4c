/**
 * The exhaustive scheduler on one concurrent group: every schedule with at most k preemptions
 * (CHESS, Musuvathi and Qadeer), each on a fresh session reached by the same sequential prefix,
 * so every schedule starts from the same state without undoing anything.
 */
import type { Policy, Schedule } from '../sched/types.js';
import { explorePreemptionBounded } from '../sched/exhaustive.js';
import type { Command, Topology } from '../shared/index.js';
import { groupLegal, runChecked } from './group.js';
import { runSequence } from './sequence.js';
import type { SessionOptions } from './session.js';

/**
 * Every schedule of `cmds` after `prefix` (run sequentially) with at most `preemptions`
 * preemptions, each on a fresh session (CHESS's stateless re-execution), until one breaks
 * something or `limit` schedules ran. `found` replays with checkedGroup's `switches`.
 */
export const exploreGroup = (
  topology: Topology, prefix: readonly Command[], cmds: readonly Command[], preemptions: number, limit: number, opts: SessionOptions = {},
): { readonly schedules: number; readonly complete: boolean; readonly found: Schedule | undefined; readonly invariant: string | undefined } => {
  let invariant: string | undefined;
  const r = explorePreemptionBounded((policy: Policy) => {
    const pre = runSequence(topology, prefix, opts);
    if (!pre.ok) throw new Error(`exploreGroup: ${pre.error}`);
    const s = pre.value.session;
    if (s.violation !== undefined || !groupLegal(s.spec, cmds)) throw new Error(`exploreGroup: the prefix does not reach a state where the group is legal`);
    const c = runChecked(s, cmds, policy, { scheduler: 'exhaustive', seed: 0 });
    if (c.found.length > 0 && invariant === undefined) invariant = c.found[0]!.invariant;
    return { run: c.run!, bad: c.found.length > 0 };
  }, preemptions, limit);
  return { ...r, invariant };
};
