/**
 * The string-named lockdep of the ported code before the conversion to tasks (issue 11), kept
 * until every driver takes lock objects from locking.ts (the VT-d pasid_mutex and PRQ drain
 * still call it). After kernel/locking/lockdep.c and kernel/workqueue.c's annotations (v6.17):
 * - mutex_lock / mutex_unlock of named lock classes by the current task (sched.ts `current`);
 * - lock_map_acquire / lock_map_release of pseudo locks ("(wq_completion)dmar0-iopfq");
 * - run_waited: the current task waits for another context that runs now, in place. A lock
 *   that context finds taken is held by a task that waits for it: a deadlock, not contention.
 * Held locks are the task's `held` list and dependencies are locking.ts's graph, so old and
 * new locks are one lockdep: a cycle through pasid_mutex (here) and a workqueue map taken by
 * io-pgfault.c (locking.ts) is found. Report texts are the old ones (trace digests).
 */
import { warn } from './kernel.js';
import { lockdep_deps, lockdep_reaches, lockdep_state as locking_state } from './locking.js';
import { type LockInstance, Task, schedOf } from './sched.js';
import type { Kernel } from './types.js';

interface LockdepState {
  /** Owner of each held mutex. */
  readonly owners: Map<string, Task>;
  /** The owners' names, for the explorer's fingerprint (tasks carry generators). */
  readonly ownerNames: Map<string, string>;
  /** One lock class object per name, so held lists compare by identity. */
  readonly classes: Map<string, LockInstance>;
}

/** Thrown inside a waited-for context that would sleep forever on `lock`. */
export class LockBlocked {
  constructor(readonly lock: string, readonly owner: string) {}
}

const states = new WeakMap<Kernel, LockdepState>();

function stateOf(kernel: Kernel): LockdepState {
  let st = states.get(kernel);
  if (st === undefined) states.set(kernel, (st = { owners: new Map(), ownerNames: new Map(), classes: new Map() }));
  return st;
}

function classOf(st: LockdepState, name: string): LockInstance {
  let c = st.classes.get(name);
  if (c === undefined) st.classes.set(name, (c = { name, sleeps: true }));
  return c;
}

/** A task's name in reports: a kworker instance ("kworker/q:3") reports as its pool ("kworker/q"). */
export const ctxName = (t: Task): string => (t.kind === 'kworker' ? t.name.replace(/:\d+$/, '') : t.name);

/** lockdep.c: check_prevs_add: a new edge held → next that closes a cycle is reported once. */
function addDependencies(kernel: Kernel, t: Task, next: string): void {
  const deps = lockdep_deps(kernel);
  for (const held of t.held) {
    const prev = held.name;
    let out = deps.get(prev);
    if (out === undefined) deps.set(prev, (out = new Set()));
    if (out.has(next)) continue;
    if (prev !== next && lockdep_reaches(deps, next, prev, new Set())) {
      warn(kernel, `possible circular locking dependency detected: ${ctxName(t)} takes ${next} while holding ${prev}, but ${next} -> ... -> ${prev} is already known`);
    }
    out.add(next);
  }
}

/** kernel/locking/mutex.c: mutex_lock. */
export function mutex_lock(kernel: Kernel, lock: string): void {
  const st = stateOf(kernel);
  const t = schedOf(kernel).current;
  addDependencies(kernel, t, lock);
  const owner = st.owners.get(lock);
  if (owner !== undefined) {
    if (owner === t) warn(kernel, `possible recursive locking detected: ${ctxName(t)} takes ${lock} twice`);
    throw new LockBlocked(lock, ctxName(owner));
  }
  st.owners.set(lock, t);
  st.ownerNames.set(lock, ctxName(t));
  t.held.push(classOf(st, lock));
}

/** kernel/locking/mutex.c: mutex_unlock. Unlocking what the context does not hold is a WARN. */
export function mutex_unlock(kernel: Kernel, lock: string): void {
  const st = stateOf(kernel);
  const t = schedOf(kernel).current;
  const i = t.held.lastIndexOf(classOf(st, lock));
  if (i < 0 || st.owners.get(lock) !== t) {
    warn(kernel, `bad unlock balance detected: ${ctxName(t)} releases ${lock}, which it does not hold`);
    return;
  }
  t.held.splice(i, 1);
  st.owners.delete(lock);
  st.ownerNames.delete(lock);
}

/** include/linux/lockdep.h: lock_map_acquire (a pseudo lock: dependencies only, never contended). */
export function lock_map_acquire(kernel: Kernel, map: string): void {
  const t = schedOf(kernel).current;
  addDependencies(kernel, t, map);
  t.held.push(classOf(stateOf(kernel), map));
}

/** include/linux/lockdep.h: lock_map_release. */
export function lock_map_release(kernel: Kernel, map: string): void {
  const held = schedOf(kernel).current.held;
  const i = held.lastIndexOf(classOf(stateOf(kernel), map));
  if (i >= 0) held.splice(i, 1);
}

/** A context has ended (or hangs for good): the mutexes it still owns here are forgotten. */
export function lockdep_forget(kernel: Kernel, t: Task): void {
  const st = states.get(kernel);
  if (st === undefined) return;
  for (const [lock, owner] of st.owners) {
    if (owner !== t) continue;
    st.owners.delete(lock);
    st.ownerNames.delete(lock);
  }
}

/**
 * The current task waits (`what`: intel_iommu_drain_pasid_prq) for `fn`, run now in place as
 * context `name` (not a scheduled task: the VT-d PRQ thread until vtd/ converts). Returns true
 * when it completed. When it would sleep on a lock some waiting context holds, the deadlock is
 * reported and false returned: the wait never completes; the context's locks are forgotten so
 * that one deadlock gives one report.
 */
export function run_waited(kernel: Kernel, name: string, what: string, fn: () => void): boolean {
  const s = schedOf(kernel);
  const waiter = s.current;
  const ctx = new Task(-1, name, 'irq', undefined);
  s.current = ctx;
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof LockBlocked)) throw e;
    warn(kernel, `possible deadlock: ${ctxName(waiter)} waits in ${what} for ${name}, which sleeps on ${e.lock} held by ${e.owner}`);
    return false;
  } finally {
    lockdep_forget(kernel, ctx);
    s.current = waiter;
  }
}

/** Locks the current task holds, oldest first: for tests and traces. */
export function lockdep_held(kernel: Kernel): readonly string[] {
  return schedOf(kernel).current.held.map((l) => l.name);
}

/**
 * The learned dependencies and lock owners, for the explorer's state fingerprint (state that
 * decides later reports lives here, out of the world's object graph). Undefined before the
 * first lock of the world.
 */
export function lockdep_state(kernel: Kernel): object | undefined {
  // Undefined until the first lock of either kind, as before the two lockdeps became one.
  const st = states.get(kernel);
  const deps = locking_state(kernel);
  if (st === undefined && deps === undefined) return undefined;
  return { deps, owners: st?.ownerNames };
}
