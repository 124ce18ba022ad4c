import { expect } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { runChecked } from '../../src/harness/group.js';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import type { Command, FindingName, Topology } from '../../src/shared/index.js';

/**
 * Every schedule of `group` after `prefix` with at most `bound` preemptions, each from a fresh
 * session with `fixes` on: the violations each one found, how many schedules ran, and whether
 * the bounded space was exhausted within `limit`.
 */
export function exploreGroup(t: Topology, prefix: readonly Command[], group: readonly Command[], fixes: readonly FindingName[], bound = 1, limit = 20_000) {
  const found: string[] = [];
  let schedules = 0;
  const r = explorePreemptionBounded((policy) => {
    const pre = runSequence(t, prefix, { fixes });
    if (!pre.ok) throw new Error(pre.error);
    const c = runChecked(pre.value.session, [...group], policy, { scheduler: 'exhaustive', seed: 0 });
    schedules++;
    for (const v of c.found) found.push(`${v.invariant}: ${v.message}`);
    return { run: c.run!, bad: false };
  }, bound, limit);
  return { found, schedules, complete: r.complete };
}

/**
 * The fix-race tests' claim: the bounded space is exhausted in exactly `expected` schedules
 * and none of them finds a violation. The count is pinned, as the explore CI scopes' state
 * counts are: a change to the group's yield points or to the explorer shows as a changed
 * space, not as a silently smaller one.
 */
export function expectEveryScheduleClean(
  t: Topology, prefix: readonly Command[], group: readonly Command[], fixes: readonly FindingName[], expected: number,
): void {
  const { found, schedules, complete } = exploreGroup(t, prefix, group, fixes);
  expect(complete).toBe(true);
  expect(schedules).toBe(expected);
  expect(found).toEqual([]);
}
