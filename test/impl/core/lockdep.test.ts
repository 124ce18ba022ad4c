import { describe, expect, test } from 'vitest';
import { coreOf, createKernel } from '../../../src/impl/core/kernel.js';
import { lock_map_acquire, lock_map_release, lockdep_held, mutex_lock, mutex_unlock, run_waited } from '../../../src/impl/core/lockdep.js';
import { defaultTopology } from '../../../src/shared/index.js';

const kernel = () => createKernel(defaultTopology('vtd'));

describe('lockdep', () => {
  test('Balanced locking in one order, and a waited-for context that takes other locks, report nothing', () => {
    const k = kernel();
    mutex_lock(k, 'iommu_sva_lock');
    mutex_lock(k, 'group->mutex');
    expect(lockdep_held(k)).toEqual(['iommu_sva_lock', 'group->mutex']);
    expect(run_waited(k, 'kworker', 'flush_workqueue(q)', () => {
      mutex_lock(k, 'fault_param->lock');
      mutex_unlock(k, 'fault_param->lock');
    })).toBe(true);
    mutex_unlock(k, 'group->mutex');
    mutex_unlock(k, 'iommu_sva_lock');
    expect(lockdep_held(k)).toEqual([]);
    expect(coreOf(k).warnings).toEqual([]);
  });

  test('Waiting for a context that sleeps on a lock the waiter holds is a deadlock: reported, and the wait fails', () => {
    const k = kernel();
    let after = false;
    mutex_lock(k, 'pasid_mutex');
    const done = run_waited(k, 'kworker', 'flush_workqueue(q)', () => {
      mutex_lock(k, 'pasid_mutex');
      after = true;
    });
    expect(done).toBe(false);
    expect(after).toBe(false);
    expect(coreOf(k).warnings).toEqual(['possible deadlock: task waits in flush_workqueue(q) for kworker, which sleeps on pasid_mutex held by task']);
    // The waiter still holds its lock and can release it; the parked context's locks are forgotten.
    mutex_unlock(k, 'pasid_mutex');
    expect(coreOf(k).warnings).toHaveLength(1);
  });

  test('Opposite orders through a workqueue map form a cycle, reported once when the second order appears', () => {
    const k = kernel();
    run_waited(k, 'kworker', 'flush', () => {
      lock_map_acquire(k, '(wq_completion)q');
      mutex_lock(k, 'pasid_mutex');
      mutex_unlock(k, 'pasid_mutex');
      lock_map_release(k, '(wq_completion)q');
    });
    expect(coreOf(k).warnings).toEqual([]);
    for (let i = 0; i < 2; i++) {
      mutex_lock(k, 'pasid_mutex');
      lock_map_acquire(k, '(wq_completion)q');
      lock_map_release(k, '(wq_completion)q');
      mutex_unlock(k, 'pasid_mutex');
    }
    expect(coreOf(k).warnings).toHaveLength(1);
    expect(coreOf(k).warnings[0]).toMatch(/^possible circular locking dependency detected: task takes \(wq_completion\)q while holding pasid_mutex/);
  });

  test('Unlocking a lock the context does not hold is a bad unlock balance', () => {
    const k = kernel();
    mutex_unlock(k, 'group->mutex');
    expect(coreOf(k).warnings).toEqual(['bad unlock balance detected: task releases group->mutex, which it does not hold']);
  });
});
