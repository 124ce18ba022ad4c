/**
 * Scheduling policies: who runs at each scheduling point of a group (see types.ts: Policy).
 *
 * - default: never switches away from a runnable task; a task blocked on another runs that one
 *   next (as `sync` runs a wait's target in place); members run one after another.
 * - replay: the default rule except at the recorded switches (a schedule replays exactly).
 * - random: the running task goes on with a probability drawn per schedule, else uniform among
 *   the runnable tasks.
 * - PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with Probabilistic
 *   Guarantees of Finding Bugs", ASPLOS 2010). Every task gets a distinct random priority
 *   ≥ depth; the highest-priority runnable task runs. depth−1 change points are drawn uniformly
 *   in [1, expectedPoints]; at the i-th one the running task's priority drops to depth−i, below
 *   every initial priority, so the others overtake it there. "depth" is the bug depth d: the
 *   number of ordering constraints between events of different tasks that a schedule must meet
 *   for the bug to show (d = 1: one task runs entirely before another; d = 2: a task is preempted
 *   at one particular point — an atomicity violation or a lost update). For n tasks and k points,
 *   one PCT run finds a bug of depth d with probability at least 1/(n·k^(d−1)); so d = 2 with
 *   n = 3 and k = 200 gives ≥ 1/600 per run, independent of how the other points interleave.
 *   Tasks spawned while the group runs (kworkers, IRQ threads) get a random initial priority
 *   when first seen, like the paper's threads created during the run.
 */
import { Rng } from './rng.js';
import type { Policy, Schedule } from './types.js';

/**
 * The default rule: keep the current task if runnable; else the task the last one blocked
 * waiting for, as `sync` runs a wait's target in place; else the lowest-index runnable one.
 */
export const defaultPick = (current: number, runnable: readonly number[], waited?: number): number =>
  current >= 0 ? current : waited !== undefined && runnable.includes(waited) ? waited : runnable[0]!;

/** Never switches: members run one after another (the sequential order). */
export function defaultPolicy(): Policy {
  return { pick: (_at, current, runnable, waited) => defaultPick(current, runnable, waited) };
}

/** Applies s's switches at their points; a switch to a task not runnable there is ignored. */
export function replayPolicy(s: Schedule): Policy {
  const sw = s.switches;
  let i = 0;
  return {
    pick(at, current, runnable, waited) {
      while (i < sw.length && sw[i]!.at < at) i++;
      if (i < sw.length && sw[i]!.at === at) {
        const to = sw[i++]!.to;
        if (runnable.includes(to)) return to;
      }
      return defaultPick(current, runnable, waited);
    },
  };
}

/**
 * Random with a stickiness drawn per schedule: at each point the running task goes on with
 * probability q (uniform in [0, 1) from the seed), else the pick is uniform among the runnable.
 * q = 0 is the uniform random walk, which switches at about half of all points, so that a short
 * task finishes within the first few points of a long one and a race deep inside the long one
 * is almost never met (R03: 1 schedule in 300); q near 1 preempts rarely, as PCT does.
 */
export function randomPolicy(seed: number): Policy {
  const rng = new Rng(seed);
  const stay = rng.next();
  return {
    pick: (_at, current, runnable) => (current >= 0 && rng.next() < stay ? current : runnable[rng.below(runnable.length)]!),
  };
}

/** PCT with bug depth `depth` (≥ 1) over about `expectedPoints` scheduling points. */
export function pctPolicy(seed: number, depth: number, expectedPoints: number): Policy {
  if (!(depth >= 1)) throw new RangeError(`pct: depth must be ≥ 1, got ${depth}`);
  const rng = new Rng(seed);
  const k = Math.max(1, Math.floor(expectedPoints));
  // Change points, ascending; the i-th (1-based) lowers the running task to depth − i.
  const change: number[] = [];
  for (let i = 1; i < depth; i++) change.push(1 + rng.below(k));
  const order = change.map((at, i) => ({ at, prio: depth - 1 - i }));
  order.sort((a, b) => a.at - b.at || b.prio - a.prio);
  // Priorities by task index; initial ones are distinct and ≥ depth (drawn from a wide range).
  const prio: number[] = [];
  const used = new Set<number>();
  let next = 0;
  const priorityOf = (t: number): number => {
    while (prio.length <= t) prio.push(-1);
    if (prio[t]! < 0) {
      let p: number;
      do p = depth + rng.below(1 << 30); while (used.has(p));
      used.add(p);
      prio[t] = p;
    }
    return prio[t]!;
  };
  const highest = (runnable: readonly number[]): number => {
    let best = runnable[0]!;
    let bp = priorityOf(best);
    for (let j = 1; j < runnable.length; j++) {
      const p = priorityOf(runnable[j]!);
      if (p > bp) (best = runnable[j]!), (bp = p);
    }
    return best;
  };
  return {
    pick(at, _current, runnable) {
      let t = highest(runnable);
      // A change point lowers the task that would run here, so another one overtakes it now.
      while (next < order.length && order[next]!.at <= at) {
        if (order[next]!.at === at) {
          prio[t] = order[next]!.prio;
          t = highest(runnable);
        }
        next++;
      }
      return t;
    },
  };
}
