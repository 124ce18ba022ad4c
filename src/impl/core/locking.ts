/**
 * The kernel's locks as the ported code takes them, with lockdep (v7.0-rc5):
 * - kernel/locking/mutex.c: mutex_lock / mutex_unlock;
 * - include/linux/spinlock.h: spin_lock(_irqsave) / spin_unlock(_irqrestore) (preempt_count
 *   raised while held: sleeping under one is "sleeping function called from invalid context");
 * - kernel/locking/rwsem.c: down_read / up_read / down_write / up_write (mmap_lock);
 * - kernel/sched/completion.c: wait_for_completion / complete;
 * - include/linux/lockdep.h: lock_map_acquire / lock_map_release (pseudo locks such as a
 *   workqueue's "(wq_completion)name" map: dependencies only, never contended).
 *
 * Every acquire and release is a yield point where a scheduler can switch (sched.ts `preempts`:
 * not on the sequential path, which passes over them). A contended lock blocks its task (sched.ts:
 * `wait`), naming the owner as the task it waits for. Lockdep (after kernel/locking/lockdep.c:
 * check_prevs_add, check_deadlock, print_usage_bug) learns class dependencies A → B (B taken
 * while A held), reports a new edge that closes a cycle, a task taking a lock it already holds,
 * an unlock of a lock not held, and a sleeping lock taken in atomic context; each report is a
 * warn (the I-SPLAT invariant). Lock classes are the kernel's names: "iommu_sva_lock",
 * "&group->mutex", "&domain->lock"; two instances of one class share dependencies as in
 * lockdep. Allocation-free on the common path (known edge, no contention).
 */
import { warn } from './kernel.js';
import { type Co, type LockInstance, type Sched, type Task, TaskHung, preemptPoint, preempts, schedOf, setReleaseAll, wait } from './sched.js';
import type { Kernel } from './types.js';

interface LockBase extends LockInstance {
  readonly kernel: Kernel;
  /** schedOf(kernel), looked up once (a kernel's scheduler state is never replaced); not enumerable. */
  readonly sched: Sched;
  readonly acquirePoint: ReturnType<typeof preemptPoint>;
  readonly releasePoint: ReturnType<typeof preemptPoint>;
  /** Whether its acquire and release are scheduling points (spin_lock_init's `points`). */
  readonly points: boolean;
}

/** struct mutex. */
export interface Mutex extends LockBase {
  readonly kind: 'mutex';
  owner: Task | undefined;
}

/** spinlock_t. */
export interface Spinlock extends LockBase {
  readonly kind: 'spin';
  owner: Task | undefined;
}

/** struct rw_semaphore. */
export interface RwSem extends LockBase {
  readonly kind: 'rwsem';
  owner: Task | undefined;
  readers: Task[];
}

/** struct completion. */
export interface Completion {
  readonly name: string;
  done: number;
  /** Tasks asleep in wait_for_completion on it (swait queue length). */
  waiters: number;
}

type Lock = Mutex | Spinlock | RwSem;

interface Lockdep {
  /** deps.get(A) has B when B was taken while A was held. */
  readonly deps: Map<string, Set<string>>;
}

const lockdeps = new WeakMap<Kernel, Lockdep>();

function lockdepOf(kernel: Kernel): Lockdep {
  let l = lockdeps.get(kernel);
  if (l === undefined) lockdeps.set(kernel, (l = { deps: new Map() }));
  return l;
}

type LockPoints = readonly [acquire: ReturnType<typeof preemptPoint>, release: ReturnType<typeof preemptPoint>];

/** One pair of preempt points per lock class: locks of one class share theirs (the point names the class). */
const lockPoints: Record<Lock['kind'], Map<string, LockPoints>> = { mutex: new Map(), spin: new Map(), rwsem: new Map() };

function pointsOf(kind: Lock['kind'], name: string): LockPoints {
  const byName = lockPoints[kind];
  let p = byName.get(name);
  if (p === undefined) {
    const [acquire, release] = kind === 'spin' ? ['spin_lock', 'spin_unlock'] : kind === 'mutex' ? ['mutex_lock', 'mutex_unlock'] : ['down', 'up'];
    byName.set(name, (p = [preemptPoint(`${acquire}(${name})`), preemptPoint(`${release}(${name})`)]));
  }
  return p;
}

/**
 * A lock instance. The scheduler state (task ids, the current task) is not world state, so it
 * sits in a private field behind a getter: the explorer's fingerprint hashes own enumerable
 * fields only, and a class keeps every lock on one hidden class (defineProperty per instance
 * did not, and cost a few per cent of a step: locks are made with each domain and device).
 */
class LockObject {
  readonly kind: Lock['kind'];
  readonly name: string;
  readonly sleeps: boolean;
  readonly kernel: Kernel;
  owner: Task | undefined = undefined;
  readonly points: boolean;
  readonly acquirePoint: ReturnType<typeof preemptPoint>;
  readonly releasePoint: ReturnType<typeof preemptPoint>;
  readonly #sched: Sched;

  constructor(kernel: Kernel, kind: Lock['kind'], name: string, sleeps: boolean, points: boolean) {
    this.kind = kind;
    this.name = name;
    this.sleeps = sleeps;
    this.kernel = kernel;
    this.points = points;
    const [acquire, release] = pointsOf(kind, name);
    this.acquirePoint = acquire;
    this.releasePoint = release;
    this.#sched = schedOf(kernel);
  }

  get sched(): Sched {
    return this.#sched;
  }
}

class RwSemObject extends LockObject {
  readonly readers: Task[] = [];
}

function make<K extends Lock['kind']>(kernel: Kernel, kind: K, name: string, sleeps: boolean, points = true): Lock & { kind: K } {
  const lock = kind === 'rwsem' ? new RwSemObject(kernel, kind, name, sleeps, points) : new LockObject(kernel, kind, name, sleeps, points);
  return lock as unknown as Lock & { kind: K };
}

/** mutex_init / DEFINE_MUTEX. */
export const mutex_init = (kernel: Kernel, name: string): Mutex => make(kernel, 'mutex', name, true);
/**
 * spin_lock_init / DEFINE_SPINLOCK. `points` false: its uncontended acquire and its release are
 * no scheduling points (a contended acquire still waits), for a lock whose holder reads and
 * writes nothing another task reads without it between its points before and after: any
 * interleaving there equals one at those points, and leaving them out keeps the schedules of
 * the paths around it as they were (the page-table lock: mm.ts).
 */
export const spin_lock_init = (kernel: Kernel, name: string, points = true): Spinlock => make(kernel, 'spin', name, false, points);
/** init_rwsem. */
export const init_rwsem = (kernel: Kernel, name: string): RwSem => make(kernel, 'rwsem', name, true);
/** init_completion. */
export const init_completion = (name: string): Completion => ({ name, done: 0, waiters: 0 });

/** Whether `to` is reachable from `from` in the learned dependencies (depth-first). */
export function lockdep_reaches(deps: Map<string, Set<string>>, from: string, to: string, seen: Set<string>): boolean {
  if (from === to) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  for (const next of deps.get(from) ?? []) if (lockdep_reaches(deps, next, to, seen)) return true;
  return false;
}

/** lockdep.c: check_prevs_add: learn held → next; a new edge that closes a cycle is reported. */
function lock_acquire(kernel: Kernel, t: Task, next: LockInstance): void {
  const deps = lockdepOf(kernel).deps;
  for (const prev of t.held) {
    if (prev === next) {
      warn(kernel, `possible recursive locking detected: ${t.name} takes ${next.name} while holding it`);
      continue;
    }
    let out = deps.get(prev.name);
    if (out === undefined) deps.set(prev.name, (out = new Set()));
    if (out.has(next.name)) continue;
    if (prev.name !== next.name && lockdep_reaches(deps, next.name, prev.name, new Set())) {
      warn(kernel, `possible circular locking dependency detected: ${t.name} takes ${next.name} while holding ${prev.name}, but ${next.name} -> ... -> ${prev.name} is already known`);
    }
    out.add(next.name);
  }
  t.held.push(next);
}

/** lockdep.c: lock_release: unlocking what the task does not hold is a WARN ("bad unlock balance"). */
function lock_release(kernel: Kernel, t: Task, lock: LockInstance): boolean {
  const held = t.held;
  // Locks are mostly released innermost first: pop, without splice's removed-elements array.
  if (held.length > 0 && held[held.length - 1] === lock) {
    held.pop();
    return true;
  }
  const i = held.lastIndexOf(lock);
  if (i < 0) {
    warn(kernel, `bad unlock balance detected: ${t.name} releases ${lock.name}, which it does not hold`);
    return false;
  }
  held.splice(i, 1);
  return true;
}

/**
 * kernel/sched/core.c: __might_sleep (CONFIG_DEBUG_ATOMIC_SLEEP): every sleeping allocation
 * (GFP_KERNEL, dma_alloc_coherent) and sleeping lock calls it.
 */
export function might_sleep(kernel: Kernel, where: string): void {
  const t = schedOf(kernel).current;
  if (t.atomic === 0) return;
  const spins = t.held.filter((l) => !l.sleeps).map((l) => l.name);
  warn(kernel, `BUG: sleeping function called from invalid context at ${where} (in_atomic(): 1, holding ${spins.join(', ')})`);
}

/** in_atomic(): the current task holds a spinlock. */
export const in_atomic = (kernel: Kernel): boolean => schedOf(kernel).current.atomic > 0;

/**
 * What a lock call returns when it did all its work on the call: an iterator already done. On
 * the sequential path (no scheduler can switch at its preempt points: sched.ts `preempts`) an
 * uncontended lock or any unlock needs no generator: `yield* mutex_lock(m)` iterates the result
 * at once, so doing the work on the call is the same order, without allocating and resuming a
 * generator per lock call (the commonest call of a sequential step).
 */
const DONE: Co = {
  next: () => DONE_RESULT,
  return: () => DONE_RESULT,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return DONE;
  },
} as Co;
const DONE_RESULT: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/** What an acquire checks after its preempt point, before it may wait: might_sleep, then lockdep. */
function acquireChecks(lock: Mutex | Spinlock, t: Task): void {
  if (lock.sleeps && t.atomic > 0) might_sleep(lock.kernel, lock.acquirePoint.what);
  lock_acquire(lock.kernel, t, lock);
}

function* acquire(lock: Mutex | Spinlock): Co {
  const kernel = lock.kernel;
  if (lock.points && preempts(lock.sched)) yield lock.acquirePoint;
  const t = lock.sched.current;
  acquireChecks(lock, t);
  if (lock.owner === t) return; // recursive: reported; the real kernel would hang here
  if (lock.owner !== undefined) {
    // The contended path only: `what` is the preempt point's text ("mutex_lock(name)").
    const what = lock.acquirePoint.what;
    const ok = yield* wait(kernel, what, () => lock.owner === undefined, () => lock.owner, !lock.sleeps);
    if (!ok) {
      t.held.pop();
      throw hung(t, what);
    }
  }
  lock.owner = t;
  if (!lock.sleeps) t.atomic++;
}

/** acquire when nothing can switch at its point and the lock is free: done on the call. */
function acquireNow(lock: Mutex | Spinlock): Co {
  const t = lock.sched.current;
  acquireChecks(lock, t);
  lock.owner = t;
  if (!lock.sleeps) t.atomic++;
  return DONE;
}

const lock = (l: Mutex | Spinlock): Co => (l.owner === undefined && (!l.points || !preempts(l.sched)) ? acquireNow(l) : acquire(l));

function releaseLock(lock: Mutex | Spinlock): void {
  const t = lock.sched.current;
  if (lock_release(lock.kernel, t, lock) && lock.owner === t) {
    lock.owner = undefined;
    if (!lock.sleeps) t.atomic--;
  }
}

function* release(lock: Mutex | Spinlock): Co {
  releaseLock(lock);
  if (preempts(lock.sched)) yield lock.releasePoint;
}

const unlock = (l: Mutex | Spinlock): Co => {
  if (l.points && preempts(l.sched)) return release(l);
  releaseLock(l);
  return DONE;
};

/** kernel/locking/mutex.c: mutex_lock. */
export const mutex_lock = (m: Mutex): Co => lock(m);
/** kernel/locking/mutex.c: mutex_unlock. */
export const mutex_unlock = (m: Mutex): Co => unlock(m);
/** spin_lock (and spin_lock_irqsave: interrupts are not modelled apart from the atomic count). */
export const spin_lock = (l: Spinlock): Co => lock(l);
/** spin_unlock (and spin_unlock_irqrestore). */
export const spin_unlock = (l: Spinlock): Co => unlock(l);
/** lockdep_assert_held. */
export function lockdep_assert_held(kernel: Kernel, lock: LockInstance): void {
  if (!schedOf(kernel).current.held.includes(lock)) warn(kernel, `WARNING: lockdep_assert_held(${lock.name}) failed in ${schedOf(kernel).current.name}`);
}

/** What a down_read or down_write checks after its preempt point, before it may wait (acquireChecks for a mutex). */
function rwsemAcquireChecks(sem: RwSem, t: Task, op: 'down_read' | 'down_write'): void {
  if (t.atomic > 0) might_sleep(sem.kernel, `${op}(${sem.name})`);
  lock_acquire(sem.kernel, t, sem);
}

/** kernel/locking/rwsem.c: down_read: shares the lock with readers; waits for a writer. */
export const down_read = (sem: RwSem): Co => (sem.owner === undefined && !preempts(sem.sched) ? downReadNow(sem) : downRead(sem));

/** down_read with no preempt point to stop at and no writer: done on the call (as acquireNow). */
function downReadNow(sem: RwSem): Co {
  const t = sem.sched.current;
  rwsemAcquireChecks(sem, t, 'down_read');
  sem.readers.push(t);
  return DONE;
}

function* downRead(sem: RwSem): Co {
  const kernel = sem.kernel;
  if (preempts(sem.sched)) yield sem.acquirePoint;
  const t = sem.sched.current;
  rwsemAcquireChecks(sem, t, 'down_read');
  if (sem.owner !== undefined) {
    const ok = yield* wait(kernel, `down_read(${sem.name})`, () => sem.owner === undefined, () => sem.owner);
    if (!ok) {
      t.held.pop();
      throw hung(t, `down_read(${sem.name})`);
    }
  }
  sem.readers.push(t);
}

/** kernel/locking/rwsem.c: up_read. */
export const up_read = (sem: RwSem): Co => {
  const t = sem.sched.current;
  const i = sem.readers.indexOf(t);
  if (lock_release(sem.kernel, t, sem) && i >= 0) sem.readers.splice(i, 1);
  return preempts(sem.sched) ? afterRelease(sem) : DONE;
};

/** The preempt point after a release, for a scheduler that may switch there. */
function* afterRelease(sem: RwSem): Co {
  yield sem.releasePoint;
}

const writeFree = (sem: RwSem): boolean => sem.owner === undefined && sem.readers.length === 0;

/** kernel/locking/rwsem.c: down_write: waits for the writer and every reader. */
export const down_write = (sem: RwSem): Co => (writeFree(sem) && !preempts(sem.sched) ? downWriteNow(sem) : downWrite(sem));

/** down_write with no preempt point to stop at and the lock free: done on the call. */
function downWriteNow(sem: RwSem): Co {
  const t = sem.sched.current;
  rwsemAcquireChecks(sem, t, 'down_write');
  sem.owner = t;
  return DONE;
}

function* downWrite(sem: RwSem): Co {
  const kernel = sem.kernel;
  if (preempts(sem.sched)) yield sem.acquirePoint;
  const t = sem.sched.current;
  rwsemAcquireChecks(sem, t, 'down_write');
  if (!writeFree(sem)) {
    const ok = yield* wait(kernel, `down_write(${sem.name})`, () => writeFree(sem), () => sem.owner ?? sem.readers[0]);
    if (!ok) {
      t.held.pop();
      throw hung(t, `down_write(${sem.name})`);
    }
  }
  sem.owner = t;
}

/** kernel/locking/rwsem.c: up_write. */
export const up_write = (sem: RwSem): Co => {
  const t = sem.sched.current;
  if (lock_release(sem.kernel, t, sem) && sem.owner === t) sem.owner = undefined;
  return preempts(sem.sched) ? afterRelease(sem) : DONE;
};

/**
 * kernel/sched/completion.c: wait_for_completion. `by` names the task that will complete it
 * (the PRQ thread for prq_complete), so the sequential path can run it in place.
 */
export function* wait_for_completion(kernel: Kernel, c: Completion, by: () => Task | undefined): Co<boolean> {
  might_sleep(kernel, `wait_for_completion(${c.name})`);
  c.waiters++;
  try {
    // do_wait_for_common: a waiter woken to find done == 0 again sleeps again.
    const ok = yield* wait(kernel, `wait_for_completion(${c.name})`, () => c.done > 0, by);
    if (ok) c.done--;
    return ok;
  } finally {
    c.waiters--;
  }
}

/**
 * kernel/sched/completion.c: reinit_completion: done = 0, unlocked. Returns whether that took a
 * completion a sleeping waiter had been woken for and not yet seen: the waiter sleeps on.
 */
export function reinit_completion(c: Completion): boolean {
  const eaten = c.done > 0 && c.waiters > 0;
  c.done = 0;
  return eaten;
}

/** kernel/sched/completion.c: complete. */
export function complete(c: Completion): void {
  c.done++;
}

/** include/linux/lockdep.h: lock_map_acquire: a pseudo lock, for dependencies only. */
export function lock_map_acquire(kernel: Kernel, map: LockInstance): void {
  lock_acquire(kernel, schedOf(kernel).current, map);
}

/** include/linux/lockdep.h: lock_map_release. */
export function lock_map_release(kernel: Kernel, map: LockInstance): void {
  const held = schedOf(kernel).current.held;
  const i = held.lastIndexOf(map);
  if (i >= 0) held.splice(i, 1);
}

/** A pseudo lock class (lockdep_map) such as a workqueue's "(wq_completion)name". */
export const lockdep_map = (name: string): LockInstance => ({ name, sleeps: true });

/** The task can never take the lock (a deadlock, reported by `wait`): it hangs there for good. */
const hung = (t: Task, what: string): TaskHung => new TaskHung(`${t.name} hung in ${what}`);

/** The learned class dependencies (deps.get(A) has B), for tests. */
export const lockdep_deps = (kernel: Kernel): Map<string, Set<string>> => lockdepOf(kernel).deps;

/** Locks the current task holds, oldest first: for tests and traces. */
export const lockdep_held = (kernel: Kernel): readonly string[] => schedOf(kernel).current.held.map((l) => l.name);

/**
 * The learned dependencies, for the explorer's state fingerprint (state that decides later
 * reports lives here, out of the world's object graph). Undefined before the first lock.
 */
export const lockdep_state = (kernel: Kernel): ReadonlyMap<string, ReadonlySet<string>> | undefined => lockdeps.get(kernel)?.deps;

/**
 * A task that hangs for good (a deadlock, reported once) loses its locks from the owners'
 * view, so that one deadlock gives one report and the rest of the run goes on.
 */
export function lockdep_release_all(t: Task): void {
  for (const l of t.held) {
    const lock = l as Partial<Lock>;
    if (lock.owner === t) lock.owner = undefined;
    if (lock.kind === 'rwsem') {
      const i = lock.readers!.indexOf(t);
      if (i >= 0) lock.readers!.splice(i, 1);
    }
  }
  t.atomic = 0;
  t.held.length = 0;
}
setReleaseAll(lockdep_release_all);

/** include/linux/srcu.h: struct srcu_struct: readers inside srcu_read_lock, by task. */
export interface SrcuStruct {
  readonly name: string;
  readonly kernel: Kernel;
  readonly readers: Task[];
}

/** init_srcu_struct / DEFINE_STATIC_SRCU. */
export const init_srcu = (kernel: Kernel, name: string): SrcuStruct => ({ name, kernel, readers: [] });

/** srcu_read_lock: readers never block each other nor a grace period's start (no yield). */
export function srcu_read_lock(ssp: SrcuStruct): void {
  ssp.readers.push(schedOf(ssp.kernel).current);
}

/** srcu_read_unlock. */
export function srcu_read_unlock(ssp: SrcuStruct): void {
  const i = ssp.readers.lastIndexOf(schedOf(ssp.kernel).current);
  if (i < 0) warn(ssp.kernel, `srcu_read_unlock(${ssp.name}) by ${schedOf(ssp.kernel).current.name} outside a read side`);
  else ssp.readers.splice(i, 1);
}

/**
 * kernel/rcu/srcutree.c: synchronize_srcu: sleeps until every reader inside a read side when
 * it was called has left it (readers that enter later are not waited for).
 */
export function* synchronize_srcu(ssp: SrcuStruct): Co<boolean> {
  const kernel = ssp.kernel;
  might_sleep(kernel, `synchronize_srcu(${ssp.name})`);
  if (ssp.readers.length === 0) return true;
  const before = ssp.readers.slice();
  const left = (): boolean => before.every((t) => !ssp.readers.includes(t));
  return yield* wait(kernel, `synchronize_srcu(${ssp.name})`, left, () => before.find((t) => ssp.readers.includes(t)));
}

/**
 * kernel/locking/rwsem.c: downgrade_write (lockdep: lock_downgrade): the writer becomes a
 * reader without letting another writer in; waiting readers may now run (a yield point, as
 * the wake-up is). munmap downgrades before it zaps (mm/vma.c: vms_complete_munmap_vmas).
 */
export const downgrade_write = (sem: RwSem): Co => {
  const t = sem.sched.current;
  if (sem.owner !== t) {
    warn(sem.kernel, `DEBUG_RWSEMS_WARN_ON: downgrade_write(${sem.name}) by ${t.name}, which does not hold it for writing`);
    return DONE;
  }
  sem.owner = undefined;
  sem.readers.push(t);
  return preempts(sem.sched) ? afterRelease(sem) : DONE;
};
