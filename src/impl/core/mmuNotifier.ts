/**
 * mm/mmu_notifier.c (v6.17), the hlist (non-interval) notifiers SVA drivers use. SRCU is the
 * world's srcuCallbacks queue: call_srcu appends, a grace period runs the queue.
 */
import { sync, type  Co  } from './sched.js';
import { coreOf, warn } from './kernel.js';
import { mmdrop, mmgrab } from './mm.js';
import type { Errno } from '../../shared/index.js';
import type { Kernel, MmStruct, MmuNotifier } from './types.js';

/**
 * No kernel counterpart: lets the invariants see each secondary-TLB invalidation's (mm, start,
 * end) and which hardware commands it produced (called around the notifier loop). Per world.
 */
export interface InvalidateObserver {
  before(mm: MmStruct, start: bigint, end: bigint): void;
  after(mm: MmStruct): void;
}
const invalidateObservers = new WeakMap<Kernel, InvalidateObserver>();

/** Hook (or unhook, with undefined) the invalidation observer of one world's kernel. */
export function set_invalidate_observer(kernel: Kernel, obs: InvalidateObserver | undefined): void {
  if (obs === undefined) invalidateObservers.delete(kernel);
  else invalidateObservers.set(kernel, obs);
}

/** The mms whose notifier_subscriptions are allocated (an mm_struct is never reused here). */
const subscribed = new WeakSet<MmStruct>();

/**
 * mm/mmu_notifier.c: mmu_notifier_register → __mmu_notifier_register (v6.17): the caller holds
 * mm_users; pin the mm_struct (mmgrab, paired with the mmdrop after free_notifier), users = 1,
 * hook the subscription at the head of the list.
 */
export function* mmu_notifier_register(sub: MmuNotifier, mm: MmStruct): Co<Errno | 0> {
  if (mm.mm_users <= 0) throw new Error(`mmu_notifier_register on mm${mm.slot} with mm_users 0 (BUG_ON)`);
  if (sub.mm !== mm) throw new Error('mmu_notifier_register: subscription built for another mm');
  // The mm's first registration kzallocs mm->notifier_subscriptions (freed at __mmdrop).
  if (!subscribed.has(mm)) {
    if (mm.kernel.shouldFail('kzalloc@__mmu_notifier_register')) return 'ENOMEM';
    subscribed.add(mm);
  }
  mmgrab(mm);
  sub.users = 1;
  sub.hooked = true;
  mm.notifiers.unshift(sub);
  coreOf(mm.kernel).live.notifiers.add(sub);
  return 0;
}

function unhook(sub: MmuNotifier): void {
  const list = sub.mm.notifiers;
  const i = list.indexOf(sub);
  if (i >= 0) list.splice(i, 1);
  sub.hooked = false;
}

/**
 * mm/mmu_notifier.c: mmu_notifier_put (v6.17): drop a reference; the last one unhooks the
 * subscription (hlist_del_init_rcu) and defers mmu_notifier_free_rcu with call_srcu, so
 * free_notifier runs only after every invalidation that may still see it has finished. put
 * never calls release.
 */
export function* mmu_notifier_put(sub: MmuNotifier): Co {
  const mm = sub.mm;
  if (sub.users === 0) return warn(mm.kernel, `mmu_notifier_put with users 0 on mm${mm.slot}`);
  if (--sub.users > 0) return;
  unhook(sub);
  mm.kernel.srcuCallbacks.push(() => mmu_notifier_free_rcu(sub));
}

/** mm/mmu_notifier.c: mmu_notifier_free_rcu (v6.17): free_notifier, then the register's mmdrop. */
function mmu_notifier_free_rcu(sub: MmuNotifier): void {
  const mm = sub.mm;
  if (sub.ops.free_notifier !== undefined) sync(mm.kernel, sub.ops.free_notifier(sub)); // BRIDGE(core-ops)
  sub.freed = true;
  coreOf(mm.kernel).live.notifiers.delete(sub);
  mmdrop(mm);
}

/**
 * mm/mmu_notifier.c: mmu_notifier_unregister (v6.17), for a subscription of the synchronous
 * kind (no free_notifier): if exit_mmap has not unhooked it, run its release under SRCU and
 * unhook it; synchronize_srcu (no reader runs concurrently on the one modelled CPU, so it
 * returns at once); then the register's mmdrop, at once. The caller frees the subscription.
 */
export function* mmu_notifier_unregister(sub: MmuNotifier, mm: MmStruct): Co {
  if (sub.hooked) {
    mm.kernel.trace?.event('core', 'mmu_notifier', `unregister mm${mm.slot}: release`);
    yield* sub.ops.release(sub, mm);
    unhook(sub);
  }
  if (mm.mm_count <= 0) throw new Error(`mmu_notifier_unregister on mm${mm.slot} with mm_count 0 (BUG_ON)`);
  sub.freed = true;
  coreOf(mm.kernel).live.notifiers.delete(sub);
  mmdrop(mm);
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_release → mn_hlist_release (v6.17), from exit_mmap before
 * anything is freed: every subscription's release runs, then all are unhooked, so no
 * invalidation reaches them while the page tables are torn down.
 */
export function mmu_notifier_release(mm: MmStruct): void {
  const list = mm.notifiers;
  if (list.length === 0) return;
  mm.kernel.trace?.event('core', 'mmu_notifier', `release mm${mm.slot}`);
  for (const sub of [...list]) sync(mm.kernel, sub.ops.release(sub, mm)); // BRIDGE(core-ops)
  for (const sub of [...list]) unhook(sub);
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_arch_invalidate_secondary_tlbs (v6.17), called from the
 * arch TLB flush: [start, end) in bytes, end exclusive; (0, ULONG_MAX) means everything.
 */
export function mmu_notifier_arch_invalidate_secondary_tlbs(mm: MmStruct, start: bigint, end: bigint): void {
  const list = mm.notifiers;
  if (list.length === 0) return;
  if (mm.kernel.trace) mm.kernel.trace.event('core', 'mmu_notifier', `invalidate mm${mm.slot} [0x${start.toString(16)}, 0x${end.toString(16)})`);
  const obs = invalidateObservers.get(mm.kernel);
  obs?.before(mm, start, end);
  for (let i = 0; i < list.length; i++) {
    const sub = list[i]!;
    sync(mm.kernel, sub.ops.arch_invalidate_secondary_tlbs(sub, mm, start, end)); // BRIDGE(core-ops)
  }
  obs?.after(mm);
}
