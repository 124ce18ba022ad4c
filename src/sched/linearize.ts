/**
 * Linearizability of one concurrent group (Herlihy and Wing 1990; the checking algorithm of
 * Wing and Gong, "Testing and Verifying Concurrent Objects", JPDC 1993; Knossos): the group's
 * observations are correct if some sequential order of its members, consistent with real time,
 * gives the same observations in the spec. Real time: a member that finished before another's
 * first scheduling point must come first. With at most 3 members there are at most 6 orders, so
 * the search enumerates them in lexicographic order and asks `accepts` (the harness replays the
 * spec in that order and compares observations) until one holds.
 *
 * A member may have two linearization points (a replace whose mainline tears the old entry
 * down before it sets the new one up: src/spec/paging.ts replaceHasWindow). Its points take
 * effect in order, both inside its interval; between them only a member that `mayEnterWindow`
 * (a device access: the kernel's other paths wait on the lock the replace holds) or another
 * two-point member's point may linearize. The search is then over sequences of points.
 */
import type { GroupRun } from './types.js';

/** One linearization point: member `member`'s point number `point` (0, or 1 for a two-point member's second). */
export interface LinPoint {
  readonly member: number;
  readonly point: number;
}

export interface PointRules {
  /** Linearization points per member: 1 or 2. */
  readonly points: readonly number[];
  /** Whether member i's (single) point may sit between another member's two points. */
  readonly mayEnterWindow: (i: number) => boolean;
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
  const open = (): boolean => {
    for (let j = 0; j < n; j++) if (placed[j]! > 0 && placed[j]! < rules.points[j]!) return true;
    return false;
  };
  const extend = (): boolean => {
    if (seq.length === total) return accepts(seq);
    const inWindow = open();
    for (let i = 0; i < n; i++) {
      if (placed[i] === rules.points[i]) continue;
      // i's first point may go next only if every member that finished before i started is fully placed.
      let ok = true;
      if (placed[i] === 0) for (let j = 0; j < n && ok; j++) if (j !== i && placed[j]! < rules.points[j]! && end(j) < start(i)) ok = false;
      // Inside a window: the window's own points, other two-point members, or what may enter it.
      if (ok && inWindow && rules.points[i] === 1 && !rules.mayEnterWindow(i)) ok = false;
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
  const rules: PointRules = { points: new Array<number>(n).fill(1), mayEnterWindow: () => true };
  return linearizePoints(tasks, rules, (seq) => accepts(seq.map((p) => p.member)))?.map((p) => p.member);
}
