import { describe, expect, test } from 'vitest';
import { coreOf, createKernel } from '../../../src/impl/core/kernel.js';
import {
  complete, down_read, down_write, in_atomic, init_completion, init_rwsem, lock_map_acquire, lock_map_release, lockdep_map, might_sleep, mutex_init, mutex_lock, mutex_unlock, spin_lock, spin_lock_init,
  reinit_completion, spin_unlock, up_read, up_write, wait_for_completion,
} from '../../../src/impl/core/locking.js';
import { type Co, preemptPoint, schedOf, spawn, stepTask, sync } from '../../../src/impl/core/sched.js';
import { defaultTopology } from '../../../src/shared/index.js';

const kernel = () => createKernel(defaultTopology('vtd'));
const P = preemptPoint('test: in the critical section');

describe('locking.ts: tasks interleaving at lock boundaries', () => {
  test('A contended mutex blocks the second task until the owner unlocks, then it takes it', () => {
    const k = kernel();
    schedOf(k).concurrent = true;
    const m = mutex_init(k, '&group->mutex');
    const log: string[] = [];
    function* body(name: string): Co {
      yield* mutex_lock(m);
      log.push(`${name} in`);
      yield P;
      log.push(`${name} out`);
      yield* mutex_unlock(m);
    }
    const a = spawn(k, 'A', 'cpu', body('A'));
    const b = spawn(k, 'B', 'cpu', body('B'));
    stepTask(k, a); // mutex_lock's preempt point
    expect(stepTask(k, a)).toBe(P); // A holds it
    stepTask(k, b);
    expect(stepTask(k, b)?.kind).toBe('block');
    expect(b.runnable()).toBe(false);
    stepTask(k, a); // A unlocks (release, then the unlock's preempt point)
    expect(b.runnable()).toBe(true);
    expect(stepTask(k, b)).toBe(P);
    while (stepTask(k, a) !== undefined);
    while (stepTask(k, b) !== undefined);
    expect(log).toEqual(['A in', 'A out', 'B in', 'B out']);
    expect(coreOf(k).warnings).toEqual([]);
  });

  test('A writer waits for a reader of the rwsem; readers share it', () => {
    const k = kernel();
    schedOf(k).concurrent = true;
    const sem = init_rwsem(k, '&mm->mmap_lock');
    function* reader(): Co { yield* down_read(sem); yield P; yield* up_read(sem); }
    function* writer(): Co { yield* down_write(sem); yield* up_write(sem); }
    const r1 = spawn(k, 'r1', 'cpu', reader());
    const r2 = spawn(k, 'r2', 'cpu', reader());
    const w = spawn(k, 'w', 'cpu', writer());
    stepTask(k, r1); stepTask(k, r1);
    stepTask(k, r2);
    expect(stepTask(k, r2)).toBe(P); // two readers inside
    stepTask(k, w);
    expect(stepTask(k, w)?.kind).toBe('block');
    while (stepTask(k, r1) !== undefined);
    expect(w.runnable()).toBe(false); // r2 still reads
    while (stepTask(k, r2) !== undefined);
    expect(w.runnable()).toBe(true);
    while (stepTask(k, w) !== undefined);
    expect(w.done).toBe(true);
    expect(coreOf(k).warnings).toEqual([]);
  });

  test('Opposite lock orders are a circular dependency, reported once', () => {
    const k = kernel();
    const a = mutex_init(k, 'iommu_sva_lock');
    const b = mutex_init(k, '&group->mutex');
    function* order(x: typeof a, y: typeof a): Co { yield* mutex_lock(x); yield* mutex_lock(y); yield* mutex_unlock(y); yield* mutex_unlock(x); }
    sync(k, order(a, b));
    expect(coreOf(k).warnings).toEqual([]);
    sync(k, order(b, a));
    sync(k, order(b, a));
    expect(coreOf(k).warnings).toHaveLength(1);
    expect(coreOf(k).warnings[0]).toMatch(/^possible circular locking dependency detected: task takes iommu_sva_lock while holding &group->mutex/);
  });

  test('Opposite orders through a workqueue map (a pseudo lock) form a cycle, reported once when the second order appears', () => {
    const k = kernel();
    const m = mutex_init(k, 'pasid_mutex');
    const map = lockdep_map('(wq_completion)q');
    // A work item: the map held while it runs, the mutex inside.
    function* work(): Co { lock_map_acquire(k, map); yield* mutex_lock(m); yield* mutex_unlock(m); lock_map_release(k, map); }
    // A flusher holding the mutex: the map taken for a moment (flush_workqueue).
    function* flush(): Co { yield* mutex_lock(m); lock_map_acquire(k, map); lock_map_release(k, map); yield* mutex_unlock(m); }
    sync(k, work());
    expect(coreOf(k).warnings).toEqual([]);
    sync(k, flush());
    sync(k, flush());
    expect(coreOf(k).warnings).toHaveLength(1);
    expect(coreOf(k).warnings[0]).toMatch(/^possible circular locking dependency detected: task takes \(wq_completion\)q while holding pasid_mutex/);
  });

  test('Taking a mutex the task holds is recursive locking', () => {
    const k = kernel();
    const m = mutex_init(k, 'pasid_mutex');
    sync(k, mutex_lock(m));
    sync(k, mutex_lock(m));
    expect(coreOf(k).warnings).toEqual(['possible recursive locking detected: task takes pasid_mutex while holding it']);
  });

  test('A mutex taken under a spinlock is sleeping in atomic context; might_sleep sees it too', () => {
    const k = kernel();
    const s = spin_lock_init(k, '&iommu->lock');
    const m = mutex_init(k, 'pasid_mutex');
    sync(k, spin_lock(s));
    expect(in_atomic(k)).toBe(true);
    sync(k, mutex_lock(m));
    expect(coreOf(k).warnings[0]).toMatch(/^BUG: sleeping function called from invalid context at mutex_lock\(pasid_mutex\) \(in_atomic\(\): 1, holding &iommu->lock\)/);
    might_sleep(k, 'kzalloc(GFP_KERNEL)');
    expect(coreOf(k).warnings[coreOf(k).warnings.length - 1]).toMatch(/at kzalloc\(GFP_KERNEL\).*holding &iommu->lock/);
    sync(k, mutex_unlock(m));
    sync(k, spin_unlock(s));
    expect(in_atomic(k)).toBe(false);
  });

  test('Unlocking a mutex the task does not hold is a bad unlock balance', () => {
    const k = kernel();
    const m = mutex_init(k, '&domain->lock');
    sync(k, mutex_unlock(m));
    expect(coreOf(k).warnings).toEqual(['bad unlock balance detected: task releases &domain->lock, which it does not hold']);
  });

  test('Two tasks each waiting on the other (the drain shape) is a deadlock: reported, and the wait fails', () => {
    const k = kernel();
    const m = mutex_init(k, 'pasid_mutex');
    const c = init_completion('drained');
    let ran = false;
    function* worker(): Co { yield* mutex_lock(m); ran = true; complete(c); yield* mutex_unlock(m); }
    sync(k, mutex_lock(m));
    const w = spawn(k, 'kworker/q:1', 'kworker', worker());
    expect(sync(k, wait_for_completion(k, c, () => w))).toBe(false);
    expect(ran).toBe(false);
    expect(w.parked).toBe(true);
    expect(coreOf(k).warnings).toEqual(['possible deadlock: kworker/q:1 waits in mutex_lock(pasid_mutex) for task']);
    // Without the lock held the same wait completes, running the worker in place.
    sync(k, mutex_unlock(m));
    const w2 = spawn(k, 'kworker/q:2', 'kworker', worker());
    expect(sync(k, wait_for_completion(k, c, () => w2))).toBe(true);
    expect(ran).toBe(true);
  });
});

describe('locking.ts: a completion shared by two waiters (finding vtd-drain-completion-race)', () => {
  test('reinit_completion after complete() but before the woken waiter runs takes its wakeup: it sleeps on', () => {
    const k = kernel();
    schedOf(k).concurrent = true;
    const c = init_completion('&iommu->prq_complete');
    let woke = false;
    function* waiter(): Co { woke = yield* wait_for_completion(k, c, () => undefined); }
    const w = spawn(k, 'cpu1', 'cpu', waiter());
    stepTask(k, w); // asleep: done == 0
    expect(c.waiters).toBe(1);
    complete(c);
    // Another drain's retry resets the completion before the waiter is scheduled.
    expect(reinit_completion(c)).toBe(true);
    expect(c.done).toBe(0);
    expect(reinit_completion(c)).toBe(false); // nothing left to take
    expect(woke).toBe(false);
    expect(c.waiters).toBe(1);
  });

  test('with no waiter asleep, a reinit takes nothing anyone was owed', () => {
    const c = init_completion('&iommu->prq_complete');
    complete(c);
    expect(reinit_completion(c)).toBe(false);
  });
});

describe('locking.ts: SRCU', () => {
  test('synchronize_srcu waits for a reader inside the read side, not for one that enters later', async () => {
    const { init_srcu, srcu_read_lock, srcu_read_unlock, synchronize_srcu } = await import('../../../src/impl/core/locking.js');
    const k = kernel();
    schedOf(k).concurrent = true;
    const ssp = init_srcu(k, 'srcu');
    function* reader(): Co { srcu_read_lock(ssp); yield P; srcu_read_unlock(ssp); }
    const r = spawn(k, 'reader', 'cpu', reader());
    expect(stepTask(k, r)).toBe(P);
    const sync1 = spawn(k, 'synchronize', 'cpu', synchronize_srcu(ssp));
    expect(stepTask(k, sync1)?.kind).toBe('block');
    const late = spawn(k, 'late', 'cpu', reader());
    stepTask(k, late);
    expect(sync1.runnable()).toBe(false);
    while (stepTask(k, r) !== undefined);
    expect(sync1.runnable()).toBe(true); // `late` is still inside: not waited for
    expect(stepTask(k, sync1)).toBeUndefined();
    expect(coreOf(k).warnings).toEqual([]);
  });
});
