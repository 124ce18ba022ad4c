/**
 * A small lockdep for the ported code, after kernel/locking/lockdep.c and the workqueue
 * annotations of kernel/workqueue.c (v6.17), reduced to what sleeping locks and waits need:
 * - mutex_lock / mutex_unlock of named lock classes ("iommu_sva_lock", "group->mutex",
 *   "pasid_mutex", "fault_param->lock") by the current context;
 * - lock_map_acquire / lock_map_release of pseudo locks ("(wq_completion)dmar0-iopfq"): a
 *   flusher takes the workqueue's map for a moment and every work item runs with it held, so
 *   "waits for the work" becomes a dependency edge like any lock;
 * - run_waited: the current context waits for another one (a work item, the fault IRQ thread)
 *   that runs now. Contexts run one after another, so a lock the waited-for context finds taken
 *   is held by a context that waits for it: a deadlock, not contention.
 * Every new dependency A → B (B taken while A held) is checked for a cycle, as lockdep's
 * check_prev_add does; a cycle or a deadlock is logged with warn (the I-SPLAT invariant).
 * Per world (a WeakMap keyed by the Kernel), deterministic, and allocation-free on the common
 * path (the edge already known, no contention).
 */
import { warn } from './kernel.js';
import type { Kernel } from './types.js';

interface LockContext {
  readonly name: string;
  /** Lock classes and maps held, in acquisition order. */
  readonly held: string[];
}

interface LockdepState {
  current: LockContext;
  /** Owner of each held mutex. */
  readonly owners: Map<string, LockContext>;
  /** Dependencies learned so far: deps.get(A) has B when B was taken while A was held. */
  readonly deps: Map<string, Set<string>>;
}

/** Thrown inside a waited-for context that would sleep forever on `lock`. */
class LockBlocked {
  constructor(readonly lock: string, readonly owner: string) {}
}

const states = new WeakMap<Kernel, LockdepState>();

function stateOf(kernel: Kernel): LockdepState {
  let st = states.get(kernel);
  if (st === undefined) {
    st = { current: { name: 'task', held: [] }, owners: new Map(), deps: new Map() };
    states.set(kernel, st);
  }
  return st;
}

/** Whether `to` is reachable from `from` in the learned dependencies (depth-first). */
function reaches(deps: Map<string, Set<string>>, from: string, to: string, seen: Set<string>): boolean {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  for (const next of deps.get(from) ?? []) if (reaches(deps, next, to, seen)) return true;
  return false;
}

/** lockdep.c: check_prevs_add: a new edge held → next that closes a cycle is reported once. */
function addDependencies(kernel: Kernel, st: LockdepState, ctx: LockContext, next: string): void {
  for (const prev of ctx.held) {
    let out = st.deps.get(prev);
    if (out === undefined) st.deps.set(prev, (out = new Set()));
    if (out.has(next)) continue;
    if (prev !== next && reaches(st.deps, next, prev, new Set())) {
      warn(kernel, `possible circular locking dependency detected: ${ctx.name} takes ${next} while holding ${prev}, but ${next} -> ... -> ${prev} is already known`);
    }
    out.add(next);
  }
}

/** kernel/locking/mutex.c: mutex_lock. */
export function mutex_lock(kernel: Kernel, lock: string): void {
  const st = stateOf(kernel);
  const ctx = st.current;
  addDependencies(kernel, st, ctx, lock);
  const owner = st.owners.get(lock);
  if (owner !== undefined) {
    if (owner === ctx) warn(kernel, `possible recursive locking detected: ${ctx.name} takes ${lock} twice`);
    throw new LockBlocked(lock, owner.name);
  }
  st.owners.set(lock, ctx);
  ctx.held.push(lock);
}

/** kernel/locking/mutex.c: mutex_unlock. Unlocking what the context does not hold is a WARN. */
export function mutex_unlock(kernel: Kernel, lock: string): void {
  const st = stateOf(kernel);
  const ctx = st.current;
  const i = ctx.held.lastIndexOf(lock);
  if (i < 0 || st.owners.get(lock) !== ctx) {
    warn(kernel, `bad unlock balance detected: ${ctx.name} releases ${lock}, which it does not hold`);
    return;
  }
  ctx.held.splice(i, 1);
  st.owners.delete(lock);
}

/** include/linux/lockdep.h: lock_map_acquire (a pseudo lock: dependencies only, never contended). */
export function lock_map_acquire(kernel: Kernel, map: string): void {
  const st = stateOf(kernel);
  addDependencies(kernel, st, st.current, map);
  st.current.held.push(map);
}

/** include/linux/lockdep.h: lock_map_release. */
export function lock_map_release(kernel: Kernel, map: string): void {
  const held = stateOf(kernel).current.held;
  const i = held.lastIndexOf(map);
  if (i >= 0) held.splice(i, 1);
}

/**
 * The current context waits (`what`: flush_workqueue(q), wait_for_completion(...)) for `fn`,
 * run now as context `name`. Returns true when it completed. When it would sleep on a lock
 * some waiting context holds, the deadlock is reported and false returned: the wait never
 * completes. The blocked context is parked for good; its locks are forgotten so that one
 * deadlock gives one report.
 */
export function run_waited(kernel: Kernel, name: string, what: string, fn: () => void): boolean {
  const st = stateOf(kernel);
  const waiter = st.current;
  const ctx: LockContext = { name, held: [] };
  st.current = ctx;
  try {
    fn();
    return true;
  } catch (e) {
    if (!(e instanceof LockBlocked)) throw e;
    warn(kernel, `possible deadlock: ${waiter.name} waits in ${what} for ${name}, which sleeps on ${e.lock} held by ${e.owner}`);
    return false;
  } finally {
    for (const l of ctx.held) if (st.owners.get(l) === ctx) st.owners.delete(l);
    st.current = waiter;
  }
}

/** Locks the current context holds, oldest first: for tests and traces. */
export function lockdep_held(kernel: Kernel): readonly string[] {
  return stateOf(kernel).current.held;
}

/**
 * The learned dependencies and lock owners, for the explorer's state fingerprint (state that
 * decides later reports lives here, out of the world's object graph). Undefined before the
 * first lock of the world.
 */
export function lockdep_state(kernel: Kernel): object | undefined {
  return states.get(kernel);
}
