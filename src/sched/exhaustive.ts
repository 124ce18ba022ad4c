/**
 * Preemption-bounded exhaustive exploration (Musuvathi and Qadeer, "Iterative Context Bounding
 * for Systematic Testing of Multithreaded Programs", PLDI 2007; the CHESS tool): every schedule
 * of the group with at most `preemptions` preemptions, by stateless re-execution.
 *
 * The decision tree: at each scheduling point the alternatives are all runnable tasks, the
 * default pick (types.ts) first. Picking another task than a runnable current one costs a
 * preemption; a pick after the current task blocked or finished is free. The explorer walks the
 * tree depth first: each run follows a prefix of decisions, then the default rule to the end,
 * recording the alternatives it passed; the next prefix is the deepest decision with an untried
 * alternative that stays within the bound. Each run rebuilds the world (`run` must start from
 * scratch), so no state is saved or restored: the world need only be deterministic. Schedules
 * counted are complete runs; with a bound of c preemptions and n tasks of k points each the tree
 * has O((nk)^c · n!) leaves — polynomial in k, which is why small bounds reach so far.
 */
import { defaultPick } from './policies.js';
import type { Exploration, GroupRun, Policy } from './types.js';

/** One decision taken in a run: the alternatives there, which one, and what it cost. */
interface Decision {
  readonly alts: readonly number[];
  chosen: number;
  /** -1 when the current task was not runnable (every alternative free), else that task. */
  readonly current: number;
  /** Preemptions spent before this decision. */
  readonly before: number;
}

const cost = (d: Decision, alt: number): number => (d.current >= 0 && d.alts[alt] !== d.current ? 1 : 0);

export function explorePreemptionBounded(
  run: (p: Policy) => { run: GroupRun; bad: boolean },
  preemptions: number,
  limit: number,
): Exploration {
  const path: Decision[] = [];
  let schedules = 0;
  for (;;) {
    if (schedules >= limit) return { schedules, complete: false, found: undefined };
    const r = run(follow(path));
    schedules++;
    if (r.bad) return { schedules, complete: false, found: r.run.schedule };
    if (!backtrack(path, preemptions)) return { schedules, complete: true, found: undefined };
  }
}

/** A policy that takes the recorded decisions, then the default rule, extending `path`. */
function follow(path: Decision[]): Policy {
  const fixed = path.length;
  let used = 0;
  return {
    pick(at, current, runnable) {
      if (at < fixed) {
        const d = path[at]!;
        const to = d.alts[d.chosen]!;
        if (d.current !== current || !sameAlts(d.alts, current, runnable)) {
          throw new Error(`exhaustive: the world is not deterministic: point ${at} offers ${runnable.join(',')} (current ${current}), the earlier run ${d.alts.join(',')} (current ${d.current})`);
        }
        used = d.before + cost(d, d.chosen);
        return to;
      }
      const first = defaultPick(current, runnable);
      const alts = [first];
      for (const t of runnable) if (t !== first) alts.push(t);
      path.push({ alts, chosen: 0, current, before: used });
      return first;
    },
  };
}

/** The alternatives list is the default first, then the other runnable tasks ascending. */
function sameAlts(alts: readonly number[], current: number, runnable: readonly number[]): boolean {
  if (alts.length !== runnable.length || alts[0] !== defaultPick(current, runnable)) return false;
  for (const t of runnable) if (!alts.includes(t)) return false;
  return true;
}

/** Move to the next schedule within the bound; false when the tree is exhausted. */
function backtrack(path: Decision[], bound: number): boolean {
  while (path.length > 0) {
    const d = path[path.length - 1]!;
    for (let alt = d.chosen + 1; alt < d.alts.length; alt++) {
      if (d.before + cost(d, alt) <= bound) {
        d.chosen = alt;
        return true;
      }
    }
    path.pop();
  }
  return false;
}

