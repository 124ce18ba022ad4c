/**
 * Linearizability of one concurrent group (Herlihy and Wing 1990; the checking algorithm of
 * Wing and Gong, "Testing and Verifying Concurrent Objects", JPDC 1993; Knossos): the group's
 * observations are correct if some sequential order of its members, consistent with real time,
 * gives the same observations in the spec. Real time: a member that finished before another's
 * first scheduling point must come first. With at most 3 members there are at most 6 orders, so
 * the search enumerates them in lexicographic order and asks `accepts` (the harness replays the
 * spec in that order and compares observations) until one holds.
 *
 * A member may have several linearization points (a replace whose mainline tears the old entry
 * down before it sets the new one up: src/spec/paging.ts replaceHasWindow; a migration's
 * unmap and remap; serviceFaults' work items). Its points take effect in order, all inside
 * its interval; between two of them (its window) another member's point may linearize only if
 * the owner's rule lets it in (`mayEnter`: for a replace, a device access, as the kernel's other
 * paths wait on the lock the replace holds). The search is then over sequences of points.
 */
import type { GroupRun } from './types.js';

/** One linearization point: member `member`'s point number `point` (0, or 1 for a two-point member's second). */
export interface LinPoint {
  readonly member: number;
  readonly point: number;
}

export interface PointRules {
  /** Linearization points per member (1 for most). */
  readonly points: readonly number[];
  /**
   * Whether a point of member i may sit inside the window of member `owner` that follows the
   * owner's first `after` points (between its point after − 1 and point after).
   */
  readonly mayEnter: (i: number, owner: number, after: number) => boolean;
}

/**
 * The first real-time-respecting sequence of points that `accepts`, or undefined. Sequences are
 * tried depth first, members in index order at each position: with one point per member this
 * is the lexicographic order of member orders.
 */
export function linearizePoints(tasks: GroupRun['tasks'], rules: PointRules, accepts: (seq: readonly LinPoint[]) => boolean): readonly LinPoint[] | undefined {
  const n = rules.points.length;
  // A member that never started or never finished constrains nothing after it.
  const start = (i: number): number => (tasks[i]!.firstAt < 0 ? Infinity : tasks[i]!.firstAt);
  const end = (i: number): number => (tasks[i]!.doneAt < 0 ? Infinity : tasks[i]!.doneAt);
  const placed: number[] = new Array<number>(n).fill(0);
  const total = rules.points.reduce((a, b) => a + b, 0);
  const seq: LinPoint[] = [];
  // Whether every window open now, but i's own, lets a point of i in.
  const admitted = (i: number): boolean => {
    for (let j = 0; j < n; j++) if (j !== i && placed[j]! > 0 && placed[j]! < rules.points[j]! && !rules.mayEnter(i, j, placed[j]!)) return false;
    return true;
  };
  const extend = (): boolean => {
    if (seq.length === total) return accepts(seq);
    for (let i = 0; i < n; i++) {
      if (placed[i] === rules.points[i]) continue;
      // i's first point may go next only if every member that finished before i started is fully placed.
      let ok = true;
      if (placed[i] === 0) for (let j = 0; j < n && ok; j++) if (j !== i && placed[j]! < rules.points[j]! && end(j) < start(i)) ok = false;
      // Inside a window: the window's own points, or what its owner lets in.
      if (ok && !admitted(i)) ok = false;
      if (!ok) continue;
      seq.push({ member: i, point: placed[i]! });
      placed[i]!++;
      if (extend()) return true;
      placed[i]!--;
      seq.pop();
    }
    return false;
  };
  return extend() ? seq.slice() : undefined;
}

/** The first real-time-respecting order of members 0..n−1 that `accepts`, or undefined. */
export function linearize(tasks: GroupRun['tasks'], n: number, accepts: (order: readonly number[]) => boolean): readonly number[] | undefined {
  const rules: PointRules = { points: new Array<number>(n).fill(1), mayEnter: () => true };
  return linearizePoints(tasks, rules, (seq) => accepts(seq.map((p) => p.member)))?.map((p) => p.member);
}
