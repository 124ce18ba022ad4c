import { describe, expect, test } from 'vitest';
import { coreOf } from '../../../src/impl/core/kernel.js';
import { mutex_init, mutex_lock, mutex_unlock } from '../../../src/impl/core/locking.js';
import {
  mmu_notifier_arch_invalidate_secondary_tlbs, mmu_notifier_put, mmu_notifier_register, mmu_notifier_release, mmu_notifier_srcu,
  mmu_notifier_synchronize, mmu_notifier_unregister,
} from '../../../src/impl/core/mmuNotifier.js';
import { type Co, preemptPoint, schedOf, sync } from '../../../src/impl/core/sched.js';
import { runGroup } from '../../../src/sched/group.js';
import type { MmStruct, MmuNotifier } from '../../../src/impl/core/types.js';
import type { MmuNotifierOps } from '../../../src/impl/core/ops.js';
import { mockWorld, spawn } from './helpers.js';

function recorder() {
  const calls: string[] = [];
  const ops: MmuNotifierOps = {
    release: function* (_s, mm) {
      calls.push(`release mm${mm.slot}`);
    },
    arch_invalidate_secondary_tlbs: function* (_s, _mm, start, end) {
      calls.push(`inv ${start}-${end}`);
    },
    free_notifier: function* () {
      calls.push('free_notifier');
    },
  };
  const sub = (mm: MmStruct, name: string): MmuNotifier => ({ ops, mm, container: name, users: 0, hooked: false, freed: false });
  return { calls, sub };
}

describe('mmu notifiers', () => {
  test('register pins the mm and hooks at the head; put defers free_notifier and the mmdrop to the grace period', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const { calls, sub } = recorder();
    const a = sub(mm, 'a');
    const b = sub(mm, 'b');
    expect(sync(mm.kernel, mmu_notifier_register(a, mm))).toBe(0);
    expect(sync(mm.kernel, mmu_notifier_register(b, mm))).toBe(0);
    expect(mm.mm_count).toBe(3);
    expect(mm.notifiers).toEqual([b, a]);
    expect(a.users).toBe(1);

    sync(mm.kernel, mmu_notifier_put(a));
    expect(a.hooked).toBe(false);
    expect(mm.notifiers).toEqual([b]);
    expect(calls).toEqual([]);
    expect(mm.mm_count).toBe(3);
    w.step({ kind: 'gracePeriod' });
    expect(calls).toEqual(['free_notifier']);
    expect(a.freed).toBe(true);
    expect(mm.mm_count).toBe(2);
    // A second put is a WARN, not a crash.
    sync(mm.kernel, mmu_notifier_put(a));
    expect(w.world.core.warnings).toHaveLength(1);
  });

  test('release calls every hooked release, then unhooks them all; later invalidations reach nobody', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const { calls, sub } = recorder();
    const a = sub(mm, 'a');
    sync(mm.kernel, mmu_notifier_register(a, mm));
    sync(mm.kernel, mmu_notifier_release(mm));
    expect(calls).toEqual(['release mm0']);
    expect(a.hooked).toBe(false);
    expect(mm.notifiers).toEqual([]);
    // put after release: no second release, free after the grace period.
    sync(mm.kernel, mmu_notifier_put(a));
    w.step({ kind: 'gracePeriod' });
    expect(calls).toEqual(['release mm0', 'free_notifier']);
  });

  test('callbacks queued during a grace period wait for the next one', () => {
    const w = mockWorld();
    const order: number[] = [];
    w.world.kernel.srcuCallbacks.push(function* () {
      order.push(1);
      w.world.kernel.srcuCallbacks.push(function* () {
        order.push(2);
      });
    });
    w.step({ kind: 'gracePeriod' });
    expect(order).toEqual([1]);
    w.step({ kind: 'gracePeriod' });
    expect(order).toEqual([1, 2]);
  });
});

describe('mmu_notifier_unregister (the synchronous kind: no free_notifier)', () => {
  test('runs release once if still hooked, unhooks, and drops the mm reference at once', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const calls: string[] = [];
    const ops: MmuNotifierOps = {
      release: function* (_s, m) {
        calls.push(`release mm${m.slot}`);
      },
      arch_invalidate_secondary_tlbs: function* () {
        calls.push('inv');
      },
    };
    const sub: MmuNotifier = { ops, mm, container: 'x', users: 0, hooked: false, freed: false };
    sync(mm.kernel, mmu_notifier_register(sub, mm));
    const count = mm.mm_count;
    sync(mm.kernel, mmu_notifier_unregister(sub, mm));
    expect(calls).toEqual(['release mm0']);
    expect(mm.notifiers).toEqual([]);
    expect(mm.mm_count).toBe(count - 1);
    expect(sub.freed).toBe(true);
    expect(mm.kernel.srcuCallbacks).toEqual([]);
  });

  test('after exit_mmap already released and unhooked it, unregister does not call release again', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const calls: string[] = [];
    const ops: MmuNotifierOps = {
      release: function* () {
        calls.push('release');
      },
      arch_invalidate_secondary_tlbs: function* () {},
    };
    const sub: MmuNotifier = { ops, mm, container: 'x', users: 0, hooked: false, freed: false };
    sync(mm.kernel, mmu_notifier_register(sub, mm));
    sync(mm.kernel, mmu_notifier_release(mm));
    sync(mm.kernel, mmu_notifier_unregister(sub, mm));
    expect(calls).toEqual(['release']);
  });
});

const insideOp = preemptPoint('test notifier: inside arch_invalidate_secondary_tlbs');

describe('the notifier SRCU (mm/mmu_notifier.c: DEFINE_STATIC_SRCU(srcu))', () => {
  test('the invalidate walk runs its ops inside the SRCU read side, and leaves it after', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const ssp = mmu_notifier_srcu(mm.kernel);
    const seen: boolean[] = [];
    const ops: MmuNotifierOps = {
      release: function* () {
        seen.push(ssp.readers.includes(schedOf(mm.kernel).current));
      },
      arch_invalidate_secondary_tlbs: function* () {
        seen.push(ssp.readers.includes(schedOf(mm.kernel).current));
      },
    };
    const sub: MmuNotifier = { ops, mm, container: 'x', users: 0, hooked: false, freed: false };
    sync(mm.kernel, mmu_notifier_register(sub, mm));
    sync(mm.kernel, mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0n, 4096n));
    sync(mm.kernel, mmu_notifier_release(mm));
    expect(seen).toEqual([true, true]);
    expect(ssp.readers).toEqual([]);
  });

  test('a grace period waits for an invalidation inside the read side; the put\'s free_notifier runs after it left', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const kernel = mm.kernel;
    const log: string[] = [];
    const ops: MmuNotifierOps = {
      release: function* () {},
      arch_invalidate_secondary_tlbs: function* (s) {
        log.push(`inv ${String(s.container)} begin`);
        yield insideOp;
        log.push(`inv ${String(s.container)} end`);
      },
      free_notifier: function* (s) {
        log.push(`free ${String(s.container)}`);
      },
    };
    const a: MmuNotifier = { ops, mm, container: 'a', users: 0, hooked: false, freed: false };
    sync(kernel, mmu_notifier_register(a, mm));
    function* putThenSynchronize(): Co {
      yield* mmu_notifier_put(a);
      log.push('put');
      yield* mmu_notifier_synchronize(kernel);
      log.push('grace period over');
    }
    // Task 0 enters the walk and stops inside the op; task 1 puts and waits for the grace
    // period; task 0 finishes the op, then task 1's callbacks run.
    const run = runGroup(kernel, [
      { name: 'cpu0:invalidate', kind: 'cpu', body: mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0n, 4096n) },
      { name: 'cpu1:put', kind: 'cpu', body: putThenSynchronize() },
    ], { pick: (at, _c, runnable) => (at === 0 ? 0 : runnable.includes(1) ? 1 : runnable[0]!) }, { record: true });
    expect(run.deadlock).toBeUndefined();
    expect(log).toEqual(['inv a begin', 'put', 'inv a end', 'free a', 'grace period over']);
    expect(run.trace!.some((p) => p.task === 1 && p.what === 'synchronize_srcu(srcu)')).toBe(true);
    expect(a.freed).toBe(true);
  });

  test('free_notifier runs with bottom halves off: one that sleeps is reported', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    const kernel = mm.kernel;
    const m = mutex_init(kernel, 'test_free_mutex');
    const ops: MmuNotifierOps = {
      release: function* () {},
      arch_invalidate_secondary_tlbs: function* () {},
      free_notifier: function* () {
        yield* mutex_lock(m);
        yield* mutex_unlock(m);
      },
    };
    const a: MmuNotifier = { ops, mm, container: 'a', users: 0, hooked: false, freed: false };
    sync(kernel, mmu_notifier_register(a, mm));
    sync(kernel, mmu_notifier_put(a));
    w.step({ kind: 'gracePeriod' });
    expect(coreOf(kernel).warnings).toEqual([expect.stringContaining('BUG: sleeping function called from invalid context at mutex_lock(test_free_mutex)')]);
  });
});
