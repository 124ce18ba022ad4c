/**
 * Parking the tasks of a group that can never go on (a deadlock or livelock report): they never
 * run again, and their locks are dropped from the owners' view, so the sequential commands that
 * follow do not report the same deadlock again (one deadlock, one report: the rule sched.ts's
 * in-place waits follow with their own release hook, which that module does not export).
 */
import type { LockInstance, Task } from '../impl/core/sched.js';

/** The fields locking.ts keeps on its lock objects that say who holds them. */
interface Held extends LockInstance {
  owner?: Task | undefined;
  readers?: Task[];
}

export function parkTask(t: Task): void {
  t.parked = true;
  for (const l of t.held as Held[]) {
    if (l.owner === t) l.owner = undefined;
    const i = l.readers?.indexOf(t) ?? -1;
    if (i >= 0) l.readers!.splice(i, 1);
  }
  t.atomic = 0;
  t.held.length = 0;
}

/**
 * The locks `t` owns. Lockdep puts a lock in held_locks when the acquire starts, so a task
 * blocked on a contended lock lists it too (as the kernel's "INFO: task blocked" does); the
 * deadlock report says what it waits in apart, so it names only what the task owns.
 * Pseudo locks (lockdep_map: no owner field) count as held while they are in the list.
 */
export function owned(t: Task): readonly LockInstance[] {
  return (t.held as Held[]).filter((l) => !('owner' in l) || l.owner === t || (l.readers?.includes(t) ?? false));
}
