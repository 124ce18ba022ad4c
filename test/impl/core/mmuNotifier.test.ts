import { sync } from '../../../src/impl/core/sched.js';
import { describe, expect, test } from 'vitest';
import { mmu_notifier_put, mmu_notifier_register, mmu_notifier_release, mmu_notifier_unregister } from '../../../src/impl/core/mmuNotifier.js';
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
