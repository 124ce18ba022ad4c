/**
 * Linearizability of one concurrent group (Herlihy and Wing 1990; the checking algorithm of
 * Wing and Gong, "Testing and Verifying Concurrent Objects", JPDC 1993; Knossos): the group's
 * observations are correct if some sequential order of its members, consistent with real time,
 * gives the same observations in the spec. Real time: a member that finished before another's
 * first scheduling point must come first. With at most 3 members there are at most 6 orders, so
 * the search enumerates them in lexicographic order and asks `accepts` (the harness replays the
 * spec in that order and compares observations) until one holds.
 */
import type { GroupRun } from './types.js';

/** The first real-time-respecting order of members 0..n−1 that `accepts`, or undefined. */
export function linearize(tasks: GroupRun['tasks'], n: number, accepts: (order: readonly number[]) => boolean): readonly number[] | undefined {
  // A member that never started or never finished constrains nothing after it.
  const start = (i: number): number => (tasks[i]!.firstAt < 0 ? Infinity : tasks[i]!.firstAt);
  const end = (i: number): number => (tasks[i]!.doneAt < 0 ? Infinity : tasks[i]!.doneAt);
  const order: number[] = [];
  const placed: boolean[] = new Array<boolean>(n).fill(false);
  const extend = (): boolean => {
    if (order.length === n) return accepts(order);
    for (let i = 0; i < n; i++) {
      if (placed[i]) continue;
      // i may go next only if no unplaced member finished before i started.
      let ok = true;
      for (let j = 0; j < n && ok; j++) if (j !== i && !placed[j] && end(j) < start(i)) ok = false;
      if (!ok) continue;
      placed[i] = true;
      order.push(i);
      if (extend()) return true;
      order.pop();
      placed[i] = false;
    }
    return false;
  };
  return extend() ? order.slice() : undefined;
}
