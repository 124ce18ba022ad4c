/**
 * sched.ts `preempts`: lock preempt points are yielded only when a scheduler that may switch
 * tasks there will receive them. The sequential path skips them (they would be passed over),
 * and must still do everything else a lock call does: ownership, lockdep's dependencies and
 * reports. A scheduler stepping a concurrent task must still see every one of them.
 */
import { describe, expect, test } from 'vitest';
import { coreOf, createKernel } from '../../../src/impl/core/kernel.js';
import { lockdep_deps, mutex_init, mutex_lock, mutex_unlock, spin_lock, spin_lock_init, spin_unlock } from '../../../src/impl/core/locking.js';
import { type Co, type Yield, preempts, schedOf, spawn, stepTask, sync } from '../../../src/impl/core/sched.js';
import { defaultTopology } from '../../../src/shared/index.js';

const kernel = () => createKernel(defaultTopology('vtd'));

/** Passes `co` through, recording the yield points that reach this frame. */
function* counting(co: Co, seen: string[]): Co {
  for (;;) {
    const r = co.next();
    if (r.done) return r.value;
    seen.push(r.value.what);
    yield r.value;
  }
}

describe('sched.ts: preempt points reach only a scheduler that can switch there', () => {
  test('A concurrent task stepped by a scheduler stops at every lock acquire and release', () => {
    const k = kernel();
    schedOf(k).concurrent = true;
    const m = mutex_init(k, 'iommu_sva_lock');
    const l = spin_lock_init(k, '&domain->lock');
    function* body(): Co {
      yield* mutex_lock(m);
      yield* spin_lock(l);
      yield* spin_unlock(l);
      yield* mutex_unlock(m);
    }
    const t = spawn(k, 'A', 'cpu', body());
    const points: string[] = [];
    for (let y: Yield | undefined; (y = stepTask(k, t)) !== undefined;) points.push(y.what);
    expect(points).toEqual(['mutex_lock(iommu_sva_lock)', 'spin_lock(&domain->lock)', 'spin_unlock(&domain->lock)', 'mutex_unlock(iommu_sva_lock)']);
  });

  test('A generator stepped by hand outside sync (a test acting as the scheduler) stops at every point too', () => {
    const k = kernel();
    const m = mutex_init(k, 'iommu_sva_lock');
    function* body(): Co {
      yield* mutex_lock(m);
      yield* mutex_unlock(m);
    }
    const points: string[] = [];
    const co = body();
    for (let r = co.next(); !r.done; r = co.next()) points.push(r.value.what);
    expect(points).toEqual(['mutex_lock(iommu_sva_lock)', 'mutex_unlock(iommu_sva_lock)']);
  });

  test('A contended lock under sync takes the generator path and waits in place for its owner', () => {
    const k = kernel();
    const s = schedOf(k);
    const m = mutex_init(k, '&group->mutex');
    const order: string[] = [];
    // The owner: a kernel task that took the mutex and stopped inside its critical section.
    const owner = spawn(k, 'kworker', 'kworker', (function* (): Co {
      yield* mutex_lock(m);
      order.push('owner in');
      yield { kind: 'preempt', what: 'owner: in the critical section' };
      order.push('owner out');
      yield* mutex_unlock(m);
    })());
    while (m.owner === undefined) stepTask(k, owner);
    sync(k, (function* (): Co {
      yield* mutex_lock(m);
      order.push('me in');
      expect(m.owner).toBe(s.current);
      yield* mutex_unlock(m);
    })());
    expect(order).toEqual(['owner in', 'owner out', 'me in']);
    expect(m.owner).toBeUndefined();
    expect(coreOf(k).warnings).toEqual([]);
  });

  test('Under sync no lock preempt point is yielded, and the locks, lockdep and its reports are as before', () => {
    const k = kernel();
    const s = schedOf(k);
    const a = mutex_init(k, 'A');
    const b = mutex_init(k, 'B');
    const seen: string[] = [];
    function* ab(): Co {
      expect(preempts(s)).toBe(false);
      yield* mutex_lock(a);
      yield* mutex_lock(b);
      expect(a.owner).toBe(s.current);
      expect(s.current.held.map((x) => x.name)).toEqual(['A', 'B']);
      yield* mutex_unlock(b);
      yield* mutex_unlock(a);
    }
    function* ba(): Co {
      yield* mutex_lock(b);
      yield* mutex_lock(a); // closes the cycle A -> B -> A: reported although no point was yielded
      yield* mutex_unlock(a);
      yield* mutex_unlock(b);
    }
    sync(k, counting(ab(), seen));
    expect(lockdep_deps(k).get('A')?.has('B')).toBe(true);
    expect(a.owner).toBeUndefined();
    sync(k, counting(ba(), seen));
    expect(seen).toEqual([]);
    expect(coreOf(k).warnings.some((w) => w.startsWith('possible circular locking dependency detected'))).toBe(true);
    expect(s.current.held).toEqual([]);
  });

  test('A bridge inside a concurrent task passes the points over, and the task stops again after it', () => {
    const k = kernel();
    const s = schedOf(k);
    s.concurrent = true;
    const m = mutex_init(k, '&group->mutex');
    const inner: string[] = [];
    function* body(): Co {
      sync(k, counting(mutex_lock(m), inner)); // BRIDGE(test): the bridged lock passes its point over
      sync(k, counting(mutex_unlock(m), inner)); // BRIDGE(test)
      yield* mutex_lock(m); // a plain one is seen by the stepping scheduler
      yield* mutex_unlock(m);
    }
    // stepTask runs the body with bridges 0: preempts() is true inside it.
    const t = spawn(k, 'A', 'cpu', (function* (): Co { expect(preempts(s)).toBe(true); yield* body(); })());
    const points: string[] = [];
    for (let y: Yield | undefined; (y = stepTask(k, t)) !== undefined;) points.push(y.what);
    expect(inner).toEqual([]);
    expect(points).toEqual(['mutex_lock(&group->mutex)', 'mutex_unlock(&group->mutex)']);
    expect(coreOf(k).warnings).toEqual([]);
  });
});
