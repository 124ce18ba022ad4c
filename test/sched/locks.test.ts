/** The group runner with the kernel's real locks (src/impl/core/locking.ts) and lockdep. */
import { describe, expect, it } from 'vitest';
import { mutex_init, mutex_lock, mutex_unlock, spin_lock, spin_lock_init, spin_unlock, type Mutex } from '../../src/impl/core/locking.js';
import { type Co, preemptPoint, schedOf } from '../../src/impl/core/sched.js';
import type { Kernel } from '../../src/impl/core/types.js';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import { runGroup } from '../../src/sched/group.js';
import { defaultPolicy, replayPolicy } from '../../src/sched/policies.js';
import type { Policy } from '../../src/sched/types.js';
import { toyKernel, warnings } from './toys.js';

function* lockBoth(first: Mutex, second: Mutex): Co<string> {
  yield* mutex_lock(first);
  yield* mutex_lock(second);
  yield* mutex_unlock(second);
  yield* mutex_unlock(first);
  return 'ok';
}

/** ABBA: task A takes lock_a then lock_b, task B the other way round. */
function abba(p: Policy): { kernel: Kernel; run: ReturnType<typeof runGroup> } {
  const kernel = toyKernel();
  const a = mutex_init(kernel, 'lock_a');
  const b = mutex_init(kernel, 'lock_b');
  const run = runGroup(kernel, [
    { name: 'A', kind: 'cpu', body: lockBoth(a, b) },
    { name: 'B', kind: 'cpu', body: lockBoth(b, a) },
  ], p);
  return { kernel, run };
}

describe('runGroup with mutexes and spinlocks', () => {
  it('ABBA in the sequential order: no deadlock, but lockdep reports the cycle', () => {
    const { kernel, run } = abba(defaultPolicy());
    expect(run.deadlock).toBeUndefined();
    expect(run.results).toEqual(['ok', 'ok']);
    expect(warnings(kernel).some((w) => w.startsWith('possible circular locking dependency detected: B takes lock_a while holding lock_b'))).toBe(true);
  });

  it('ABBA: one preemption reaches the deadlock, reported with what each task waits in and holds', () => {
    const none = explorePreemptionBounded((p) => {
      const { run } = abba(p);
      return { run, bad: run.deadlock !== undefined };
    }, 0, 100);
    expect(none).toEqual({ schedules: 2, complete: true, found: undefined });
    const one = explorePreemptionBounded((p) => {
      const { run } = abba(p);
      return { run, bad: run.deadlock !== undefined };
    }, 1, 100);
    expect(one.found).toBeDefined();
    const { kernel, run } = abba(replayPolicy(one.found!));
    expect(run.deadlock).toBe([
      'possible deadlock: no task of the group can go on',
      '  A (cpu) waits in mutex_lock(lock_b), holding lock_a',
      '  B (cpu) waits in mutex_lock(lock_a), holding lock_b',
    ].join('\n'));
    expect(warnings(kernel)).toContain(run.deadlock);
    expect(run.results).toEqual([undefined, undefined]);
    // Parked for good, their locks dropped: a later sequential lock_a does not report again.
    const s = schedOf(kernel);
    expect(s.tasks.every((t) => t.parked && t.held.length === 0)).toBe(true);
    expect(s.concurrent).toBe(false);
  });

  it('a spinlock holder that blocks on a mutex: "scheduling while atomic"', () => {
    const kernel = toyKernel();
    const m = mutex_init(kernel, '&group->mutex');
    const sl = spin_lock_init(kernel, '&domain->lock');
    const holding = preemptPoint('B holds the mutex');
    function* owner(): Co {
      yield* mutex_lock(m);
      yield holding;
      yield* mutex_unlock(m);
    }
    function* atomic(): Co {
      yield* spin_lock(sl);
      yield* mutex_lock(m);
      yield* mutex_unlock(m);
      yield* spin_unlock(sl);
    }
    // Point 0: B announces mutex_lock; 1: B takes it; 2: preempt B for A, which then spins.
    const run = runGroup(kernel, [
      { name: 'B', kind: 'cpu', body: owner() },
      { name: 'A', kind: 'cpu', body: atomic() },
    ], replayPolicy({ switches: [{ at: 2, to: 1 }] }), { record: true });
    expect(run.deadlock).toBeUndefined();
    expect(run.trace!.map((p) => `${p.task}:${p.what}`).slice(0, 6)).toEqual([
      '0:mutex_lock(&group->mutex)', '0:B holds the mutex',
      '1:spin_lock(&domain->lock)', '1:mutex_lock(&group->mutex)', '1:mutex_lock(&group->mutex)', '0:mutex_unlock(&group->mutex)',
    ]);
    const w = warnings(kernel);
    expect(w).toContain('BUG: scheduling while atomic: A blocks in mutex_lock(&group->mutex)');
    expect(w.some((x) => x.startsWith('BUG: sleeping function called from invalid context at mutex_lock(&group->mutex)'))).toBe(true);
  });

  it('a spinlock holder that spins on a contended spinlock: no splat (spinning is not sleeping)', () => {
    const kernel = toyKernel();
    const inner = spin_lock_init(kernel, '&iommu->lock');
    const outer = spin_lock_init(kernel, '&domain->lock');
    const holding = preemptPoint('B holds &iommu->lock');
    function* owner(): Co {
      yield* spin_lock(inner);
      yield holding;
      yield* spin_unlock(inner);
    }
    function* nested(): Co {
      yield* spin_lock(outer);
      yield* spin_lock(inner);
      yield* spin_unlock(inner);
      yield* spin_unlock(outer);
    }
    const run = runGroup(kernel, [
      { name: 'B', kind: 'cpu', body: owner() },
      { name: 'A', kind: 'cpu', body: nested() },
    ], replayPolicy({ switches: [{ at: 2, to: 1 }] }), { record: true });
    expect(run.deadlock).toBeUndefined();
    // A really waited: it announced spin_lock(&iommu->lock) twice, the second time spinning.
    expect(run.trace!.filter((p) => p.task === 1 && p.what === 'spin_lock(&iommu->lock)').length).toBeGreaterThanOrEqual(2);
    expect(warnings(kernel)).toEqual([]);
  });

  it('a sleeping lock under a spinlock without contention: might_sleep only, no block', () => {
    const kernel = toyKernel();
    const m = mutex_init(kernel, '&group->mutex');
    const sl = spin_lock_init(kernel, '&domain->lock');
    function* atomic(): Co {
      yield* spin_lock(sl);
      yield* mutex_lock(m);
      yield* mutex_unlock(m);
      yield* spin_unlock(sl);
    }
    runGroup(kernel, [{ name: 'A', kind: 'cpu', body: atomic() }], defaultPolicy());
    const w = warnings(kernel);
    expect(w.some((x) => x.startsWith('BUG: sleeping function called from invalid context'))).toBe(true);
    expect(w.some((x) => x.includes('scheduling while atomic'))).toBe(false);
  });

  it('a livelock past maxPoints is reported and parked like a deadlock', () => {
    const kernel = toyKernel();
    const spin = preemptPoint('cpu_relax()');
    function* forever(): Co {
      for (;;) yield spin;
    }
    const run = runGroup(kernel, [{ name: 'A', kind: 'cpu', body: forever() }], defaultPolicy(), { maxPoints: 50 });
    expect(run.points).toBe(50);
    expect(run.deadlock).toMatch(/^possible livelock: still running after 50 scheduling points/);
    expect(warnings(kernel)).toContain(run.deadlock);
  });
});
