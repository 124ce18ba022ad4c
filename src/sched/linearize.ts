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
 * How a search carries what a prefix of points gives (the spec's state after it) from a
 * sequence to the next that shares the prefix: `fork` copies a state so that stepping the copy
 * leaves it as it was; `step` takes one point on a state, in place, false when no sequence
 * through the prefix can be accepted; `accept` is asked at each full sequence with the states
 * still live, in the order of the roots they came from.
 */
export interface PointSearch<S> {
  readonly fork: (s: S) => S;
  readonly step: (s: S, p: LinPoint) => boolean;
  readonly accept: (seq: readonly LinPoint[], live: readonly S[]) => boolean;
  /**
   * A hash of everything in a state that the rest of a sequence can depend on, its root's
   * choices included. Given, a state equal to one met earlier with the same points placed and
   * the same members completed in the same order (WGL's memo: Lowe, "Testing for
   * linearizability", 2017) is not stepped below: an earlier prefix's was searched to the end
   * in vain, and an earlier root's at this prefix meets what this one would, and is asked first.
   */
  readonly key?: (s: S) => string;
}

/**
 * A state is hashed for the memo only where the orders of the points still to place are at
 * least this many: below, stepping the few sequences left costs less than hashing the state
 * (a spec state's hash costs about as much as a dozen points).
 */
const MEMO_MIN_ORDERS = 4;

/** The orders of `counts` points of each member, ignoring the windows' rules: (Σ c)! / Π c_i!, up to `cap`. */
const orders = (counts: readonly number[], cap: number): number => {
  let out = 1;
  let total = 0;
  for (const c of counts) {
    // C(total + c, c), built one factor at a time so each step stays an integer.
    for (let k = 1; k <= c; k++) out = (out * (total + k)) / k;
    total += c;
    if (out >= cap) return out;
  }
  return out;
};

/**
 * The first real-time-respecting sequence of points that `search` accepts, or undefined.
 * Sequences are tried depth first, members in index order at each position: with one point
 * per member this is the lexicographic order of member orders. Each root is stepped once per
 * prefix, not once per sequence, and is forked only where the sequences through a prefix part
 * (its last branch takes the prefix's own state); a root no longer live is not stepped below.
 * A state the memo has seen is dropped there: which sequence and root are accepted, and the
 * first sequence and root of every kind `accept` meets, stay as without it.
 */
export function searchPoints<S>(tasks: GroupRun['tasks'], rules: PointRules, roots: readonly S[], search: PointSearch<S>): readonly LinPoint[] | undefined {
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
  // i's first point may go next only if every member that finished before i started is fully placed.
  const inRealTime = (i: number): boolean => {
    if (placed[i] !== 0) return true;
    for (let j = 0; j < n; j++) if (j !== i && placed[j]! < rules.points[j]! && end(j) < start(i)) return false;
    return true;
  };
  const { key } = search;
  const seen = new Set<string>();
  // The members completed so far, in completion order: the part of a prefix the rest sees.
  const completed: number[] = [];
  const extend = (live: readonly S[]): boolean => {
    if (seq.length === total) return search.accept(seq, live);
    // Inside a window: the window's own points, or what its owner lets in.
    const next: number[] = [];
    for (let i = 0; i < n; i++) if (placed[i] !== rules.points[i] && inRealTime(i) && admitted(i)) next.push(i);
    for (let k = 0; k < next.length; k++) {
      const i = next[k]!;
      const p: LinPoint = { member: i, point: placed[i]! };
      const own = k === next.length - 1;
      placed[i]!++;
      const completes = placed[i] === rules.points[i];
      if (completes) completed.push(i);
      // Worth a hash where another order of the points placed could reach this prefix, and many orders remain after it.
      const keyed = key !== undefined && orders(placed, 2) >= 2 && orders(rules.points.map((p, m) => p - placed[m]!), MEMO_MIN_ORDERS) >= MEMO_MIN_ORDERS;
      const prefix = keyed ? `${placed.join(',')}/${completed.join(',')}/` : '';
      const after: S[] = [];
      for (const s of live) {
        const t = own ? s : search.fork(s);
        if (!search.step(t, p)) continue;
        if (keyed) {
          const k = prefix + key!(t);
          if (seen.has(k)) continue;
          seen.add(k);
        }
        after.push(t);
      }
      if (after.length > 0) {
        seq.push(p);
        if (extend(after)) return true;
        seq.pop();
      }
      if (completes) completed.pop();
      placed[i]!--;
    }
    return false;
  };
  return extend(roots) ? seq.slice() : undefined;
}

/** The first real-time-respecting sequence of points that `accepts`, or undefined (searchPoints' order). */
export function linearizePoints(tasks: GroupRun['tasks'], rules: PointRules, accepts: (seq: readonly LinPoint[]) => boolean): readonly LinPoint[] | undefined {
  return searchPoints(tasks, rules, [0], { fork: (s) => s, step: () => true, accept: (seq) => accepts(seq) });
}

/** The first real-time-respecting order of members 0..n−1 that `accepts`, or undefined. */
export function linearize(tasks: GroupRun['tasks'], n: number, accepts: (order: readonly number[]) => boolean): readonly number[] | undefined {
  const rules: PointRules = { points: new Array<number>(n).fill(1), mayEnter: () => true };
  return linearizePoints(tasks, rules, (seq) => accepts(seq.map((p) => p.member)))?.map((p) => p.member);
}
