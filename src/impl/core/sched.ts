/**
 * Tasks and yield points: the part of kernel/sched the ported code sees (v7.0-rc5).
 *
 * A ported function that can be interleaved is a generator (`function*`, type Co<T>); it calls
 * other such functions with `yield*` and stops at yield points:
 * - `preempt`: a place where the kernel can be preempted or another CPU can run (every lock
 *   acquire and release, every store to a structure the hardware reads, cond_resched);
 * - `block`: the task cannot go on until `until()` holds (a contended lock, a completion, a
 *   flush, a grace period). `waitsFor` names the task that will make it hold, when one does.
 *
 * Who runs at a yield point is the scheduler's choice (src/sched: sequential, random, PCT,
 * preemption-bounded exhaustive). Outside a concurrent group the harness drives a command to
 * completion with `sync`, which ignores preempt points and resolves a block by running the
 * task it waits for in place: the old run-to-completion order, so sequential traces are
 * unchanged. Preempt points are preallocated constants: a sequential step allocates nothing
 * for them.
 */
import type { Kernel } from './types.js';
import { warn } from './kernel.js';

/** What a task tells its scheduler when it stops. */
export interface Yield {
  readonly kind: 'preempt' | 'block';
  /** Where, in kernel words: "mutex_lock(iommu_sva_lock)", "intel_pasid pe->val[1] store". */
  readonly what: string;
  /** block: the condition the task waits for. */
  readonly until?: (() => boolean) | undefined;
  /** block: the task that will make `until` hold (a lock's owner, the flushed work item). */
  readonly waitsFor?: (() => Task | undefined) | undefined;
  /** block: the task busy-waits on its CPU (a contended spinlock), it does not sleep. */
  readonly spins?: boolean | undefined;
}

/** A ported function that may stop at yield points and returns T. */
export type Co<T = void> = Generator<Yield, T, undefined>;

/** A preempt point (make one per site, at module level: they are compared by identity in traces). */
export const preemptPoint = (what: string): Yield => Object.freeze({ kind: 'preempt', what });

/** Which kind of kernel context a task is; the trace's lane names use it. */
export type TaskKind = 'cpu' | 'kworker' | 'irq' | 'srcu' | 'hw';

/** A kernel context: a user task's system call on a CPU, a kworker, an IRQ thread, a device. */
export class Task {
  /** Locks held (lockdep's held_locks), oldest first. */
  readonly held: LockInstance[] = [];
  /** preempt_count: spinlocks held and interrupts disabled; sleeping is a bug while > 0. */
  atomic = 0;
  done = false;
  /** Parked for good after a deadlock report: never runs again. */
  parked = false;
  result: unknown = undefined;
  /** The block it stopped at, until `until()` holds. */
  blocked: Yield | undefined = undefined;
  /** The task that was running when this one was spawned (queue_work's caller, an IRQ's waker). */
  spawner: Task | undefined = undefined;
  constructor(
    readonly id: number,
    readonly name: string,
    readonly kind: TaskKind,
    readonly body: Co<unknown> | undefined,
  ) {}
  /** Can this task take a step now? */
  runnable(): boolean {
    return !this.done && !this.parked && (this.blocked === undefined || this.blocked.until!());
  }
}

/** What lockdep knows of a lock object (locking.ts fills it in). */
export interface LockInstance {
  /** The lock class: "iommu_sva_lock", "&group->mutex", "(wq_completion)dmar0-iopfq". */
  readonly name: string;
  /** A sleeping lock (mutex, rwsem) or a spinning one. */
  readonly sleeps: boolean;
}

/** The scheduler state of one world. */
export interface Sched {
  /** `current`. The harness's task until a group or a kernel thread runs. */
  current: Task;
  /** Tasks spawned and not yet finished, in spawn order. */
  readonly tasks: Task[];
  nextId: number;
  /** A concurrent group is running: yields go to its scheduler instead of `sync`. */
  concurrent: boolean;
  /** Tasks `sync` is running in place, outermost first (a deadlock is a cycle through them). */
  readonly inline: Task[];
  /** `sync` calls in progress: inside one, even a concurrent task waits in place (no yield). */
  bridges: number;
}

const scheds = new WeakMap<Kernel, Sched>();
// The kernel asked for last and its state: the ported code runs one world at a time, so a
// pointer compare replaces most WeakMap lookups (schedOf runs several times per lock call).
let lastKernel: Kernel | undefined;
let lastSched: Sched | undefined;

/** The scheduler state of a kernel, made on first use (and never replaced). */
export function schedOf(kernel: Kernel): Sched {
  if (kernel === lastKernel) return lastSched!;
  let s = scheds.get(kernel);
  if (s === undefined) {
    const boot = new Task(0, 'task', 'cpu', undefined);
    scheds.set(kernel, (s = { current: boot, tasks: [], nextId: 1, concurrent: false, inline: [], bridges: 0 }));
  }
  lastKernel = kernel;
  lastSched = s;
  return s;
}

/**
 * Whether a preempt point yielded now can reach a driver that may switch tasks there (a group's
 * scheduler, or a test stepping a generator by hand). It cannot under `sync` (bridges > 0:
 * every sequential command runs under one) nor while a dependency runs in place (`inline`),
 * both of which pass over every preempt point. Hot sites test it before `yield point`: skipping
 * a point that would be passed over saves resuming the whole yield* chain up to `sync` and back
 * (lock acquire and release were two thirds of the yields of a sequential step).
 */
export const preempts = (s: Sched): boolean => s.bridges === 0 && s.inline.length === 0;

/** preempts for a kernel: `if (preempting(kernel)) yield POINT;` at a hot preempt point. */
export const preempting = (kernel: Kernel): boolean => preempts(schedOf(kernel));

/**
 * Scheduling bookkeeping on a kernel object (an IOMMU's PRQ thread state, an IOPF queue's locks
 * and work list; locks keep theirs in a private field, core/locking.ts)
 * as a non-enumerable field: no part of the state the explorer fingerprints
 * (src/explore/fingerprint.ts hashes enumerable fields), where it would make every state new.
 */
export function hideSchedState(obj: object, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: false, configurable: true });
}

/** kthread_run / queue_work / a threaded IRQ waking: a new runnable task, not started yet. */
export function spawn(kernel: Kernel, name: string, kind: TaskKind, body: Co<unknown>): Task {
  const s = schedOf(kernel);
  const t = new Task(s.nextId++, name, kind, body);
  t.spawner = s.current;
  s.tasks.push(t);
  return t;
}

/**
 * Run `t` from where it stopped to its next yield point, as `current`. Returns the yield, or
 * undefined when the task finished (its result stored, and removed from the task list).
 */
export function stepTask(kernel: Kernel, t: Task): Yield | undefined {
  const s = schedOf(kernel);
  const prev = s.current;
  s.current = t;
  t.blocked = undefined;
  try {
    const r = t.body!.next();
    if (r.done) {
      t.done = true;
      t.result = r.value;
      const i = s.tasks.indexOf(t);
      if (i >= 0) s.tasks.splice(i, 1);
      return undefined;
    }
    if (r.value.kind === 'block') {
      // Spinning on a contended spinlock while holding another is legal (their order is lockdep's business).
      if (t.atomic > 0 && r.value.spins !== true) warn(kernel, `BUG: scheduling while atomic: ${t.name} blocks in ${r.value.what}`);
      t.blocked = r.value;
    }
    return r.value;
  } finally {
    s.current = prev;
  }
}

/** Thrown out of `sync` when the task it drives can never go on (a deadlock, reported once). */
export class TaskHung extends Error {}

/**
 * Drive `co` to completion in the current task: the sequential path. Preempt points pass; a
 * block is resolved by running the task it waits for in place, to its end or its own block
 * (whose dependency is run the same way). A dependency that closes a cycle, or a block nobody
 * can lift, is a deadlock: reported with warn (the I-SPLAT invariant), and the waiting
 * function sees its wait fail (see `wait`).
 */
export function sync<T>(kernel: Kernel, co: Co<T>): T {
  const s = schedOf(kernel);
  s.bridges++;
  try {
    for (;;) {
      const r = co.next();
      if (r.done) return r.value;
      // Under sync, `wait` resolves every block in place before yielding one.
      if (r.value.kind === 'block') throw new TaskHung(`${s.current.name} hung in ${r.value.what}`);
    }
  } finally {
    s.bridges--;
  }
}

/**
 * Wait until `until()` holds. Concurrent: yield a block and let the scheduler pick. Sequential
 * (sync): run the task it waits for in place. Returns false when the wait can never end (a
 * deadlock: reported); the caller then carries on, which is what the harness needs to report
 * one deadlock once instead of hanging.
 */
export function* wait(kernel: Kernel, what: string, until: () => boolean, waitsFor?: () => Task | undefined, spins = false): Co<boolean> {
  if (until()) return true;
  const s = schedOf(kernel);
  if (s.concurrent && preempts(s)) {
    // Re-check on every wake-up: a bridge may step this task in place before `until` holds.
    const block: Yield = { kind: 'block', what, until, waitsFor, spins };
    while (!until()) yield block;
    return true;
  }
  return runUntil(kernel, what, until, waitsFor);
}

/** The sequential half of `wait`: run dependencies in place until the condition holds. */
function runUntil(kernel: Kernel, what: string, until: () => boolean, waitsFor: (() => Task | undefined) | undefined): boolean {
  const s = schedOf(kernel);
  const me = s.current;
  while (!until()) {
    const dep = waitsFor?.();
    if (dep === undefined || dep === me || dep.done || dep.parked || s.inline.includes(dep)) {
      warn(kernel, `possible deadlock: ${me.name} waits in ${what}${dep === undefined ? ' for nothing that can run' : ` for ${dep.name}${dep.blocked ? `, which waits in ${dep.blocked.what}` : ''}`}`);
      return false;
    }
    s.inline.push(me);
    try {
      for (;;) {
        const y = stepTask(kernel, dep);
        if (y === undefined) break;
        // A dependency that blocked in a concurrent group before being run in place here.
        if (y.kind === 'block') {
          s.current = dep;
          const ok = runUntil(kernel, y.what, y.until!, y.waitsFor);
          s.current = me;
          if (!ok) throw new TaskHung(`${dep.name} hung in ${y.what}`);
        }
      }
    } catch (e) {
      if (!(e instanceof TaskHung)) throw e;
      // The dependency sleeps forever: park it and forget its locks, one report per deadlock.
      dep.parked = true;
      releaseAll?.(dep);
      return false;
    } finally {
      s.inline.pop();
    }
  }
  return true;
}

/** Hook for locking.ts: drop a parked task's locks from the owners' view. */
// `var` without an initialiser: locking.ts may register before this module's body has run
// (the import cycle kernel.ts → arch → mmuNotifier.ts → locking.ts → sched.ts).
// eslint-disable-next-line no-var
var releaseAll: ((t: Task) => void) | undefined;
export function setReleaseAll(fn: (t: Task) => void): void {
  releaseAll = fn;
}
