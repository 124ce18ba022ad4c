/**
 * mm/mmu_notifier.c (v6.17, unchanged in v7.0-rc5), the hlist (non-interval) notifiers SVA
 * drivers use. The file's static SRCU (`DEFINE_STATIC_SRCU(srcu)`) is one srcu_struct per
 * world: the hlist walks are its read side; call_srcu appends to the world's srcuCallbacks
 * queue, which the next grace period runs (mmu_notifier_synchronize).
 */
import { type Co, schedOf } from './sched.js';
import { coreOf, srcu_grace_period, warn } from './kernel.js';
import { type SrcuStruct, init_srcu, srcu_read_lock, srcu_read_unlock, synchronize_srcu } from './locking.js';
import { mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import { mmdrop, mmgrab } from './mm.js';
import type { Errno } from '../../shared/index.js';
import type { Kernel, MmStruct, MmuNotifier } from './types.js';

const srcus = new WeakMap<Kernel, SrcuStruct>();

/** mm/mmu_notifier.c: `DEFINE_STATIC_SRCU(srcu)`, one per world. */
export function mmu_notifier_srcu(kernel: Kernel): SrcuStruct {
  let ssp = srcus.get(kernel);
  if (ssp === undefined) srcus.set(kernel, (ssp = init_srcu(kernel, 'srcu')));
  return ssp;
}

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
 * mm/mmu_notifier.c: mmu_notifier_register (v6.17): mmap_write_lock(mm) around
 * __mmu_notifier_register, so lockdep learns every caller's locks → &mm->mmap_lock (SVA:
 * iommu_sva_lock → &mm->mmap_lock).
 */
export function* mmu_notifier_register(sub: MmuNotifier, mm: MmStruct): Co<Errno | 0> {
  yield* mmap_write_lock(mm);
  const ret = __mmu_notifier_register(sub, mm);
  yield* mmap_write_unlock(mm);
  return ret;
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_register (v6.17): the caller holds mm_users and the
 * mmap_lock for writing; pin the mm_struct (mmgrab, paired with the mmdrop after
 * free_notifier), users = 1, hook the subscription at the head of the list. The kernel's
 * mm_take_all_locks and notifier_subscriptions->lock are not modelled: the list update has no
 * yield point inside, so it is atomic with respect to every other task already.
 */
function __mmu_notifier_register(sub: MmuNotifier, mm: MmStruct): Errno | 0 {
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

/**
 * mm/mmu_notifier.c: mmu_notifier_free_rcu (v6.17): free_notifier, then the register's mmdrop.
 * kernel/rcu/srcutree.c: srcu_invoke_callbacks runs each callback under local_bh_disable, so
 * free_notifier must not sleep (raised preempt count: a sleep in it is reported).
 */
function* mmu_notifier_free_rcu(sub: MmuNotifier): Co {
  const mm = sub.mm;
  const t = schedOf(mm.kernel).current;
  t.atomic++; // local_bh_disable
  if (sub.ops.free_notifier !== undefined) yield* sub.ops.free_notifier(sub);
  t.atomic--; // local_bh_enable
  sub.freed = true;
  coreOf(mm.kernel).live.notifiers.delete(sub);
  mmdrop(mm);
}

/**
 * mm/mmu_notifier.c: mmu_notifier_synchronize (v6.17): synchronize_srcu, so every reader
 * that may still see an unhooked subscription has left; then the callbacks queued before it
 * run (the harness's grace period end, srcu_grace_period). They run in this task, in
 * call_srcu order, as srcu_invoke_callbacks runs one srcu_data's callbacks in one work item.
 */
export function* mmu_notifier_synchronize(kernel: Kernel): Co {
  yield* synchronize_srcu(mmu_notifier_srcu(kernel));
  yield* srcu_grace_period(kernel);
}

/**
 * mm/mmu_notifier.c: mmu_notifier_unregister (v6.17), for a subscription of the synchronous
 * kind (no free_notifier): if exit_mmap has not unhooked it, run its release inside the SRCU
 * read side and unhook it; synchronize_srcu (a concurrent invalidation or release may still
 * be inside the walk); then the register's mmdrop. The caller frees the subscription.
 */
export function* mmu_notifier_unregister(sub: MmuNotifier, mm: MmStruct): Co {
  const ssp = mmu_notifier_srcu(mm.kernel);
  if (sub.hooked) {
    srcu_read_lock(ssp);
    mm.kernel.trace?.event('core', 'mmu_notifier', `unregister mm${mm.slot}: release`);
    yield* sub.ops.release(sub, mm);
    srcu_read_unlock(ssp);
    unhook(sub);
  }
  yield* synchronize_srcu(ssp);
  if (mm.mm_count <= 0) throw new Error(`mmu_notifier_unregister on mm${mm.slot} with mm_count 0 (BUG_ON)`);
  sub.freed = true;
  coreOf(mm.kernel).live.notifiers.delete(sub);
  mmdrop(mm);
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_release → mn_hlist_release (v6.17), from exit_mmap before
 * anything is freed: inside the SRCU read side every subscription's release runs, then all
 * are unhooked, so no invalidation reaches them while the page tables are torn down; then
 * synchronize_srcu, so that exit_mmap does not free pages while a concurrent
 * mmu_notifier_unregister still runs a release. The walk is the RCU hlist's: a subscription
 * unhooked (by a concurrent put) before the walk reaches it is not visited, one hooked after
 * the walk passed the head is not either (hlist_add_head_rcu).
 */
export function* mmu_notifier_release(mm: MmStruct): Co {
  const list = mm.notifiers;
  if (list.length === 0) return;
  const ssp = mmu_notifier_srcu(mm.kernel);
  srcu_read_lock(ssp);
  mm.kernel.trace?.event('core', 'mmu_notifier', `release mm${mm.slot}`);
  for (const sub of list.slice()) if (sub.hooked) yield* sub.ops.release(sub, mm);
  for (const sub of list.slice()) unhook(sub);
  srcu_read_unlock(ssp);
  yield* synchronize_srcu(ssp);
}

/**
 * mm/mmu_notifier.c: __mmu_notifier_arch_invalidate_secondary_tlbs (v6.17), called from the
 * arch TLB flush: [start, end) in bytes, end exclusive; (0, ULONG_MAX) means everything. The
 * hlist walk is an SRCU read side (free_notifier waits for it), visited as in
 * mmu_notifier_release.
 */
export function* mmu_notifier_arch_invalidate_secondary_tlbs(mm: MmStruct, start: bigint, end: bigint): Co {
  const list = mm.notifiers;
  if (list.length === 0) return;
  const ssp = mmu_notifier_srcu(mm.kernel);
  srcu_read_lock(ssp);
  if (mm.kernel.trace) mm.kernel.trace.event('core', 'mmu_notifier', `invalidate mm${mm.slot} [0x${start.toString(16)}, 0x${end.toString(16)})`);
  const obs = invalidateObservers.get(mm.kernel);
  obs?.before(mm, start, end);
  if (list.length === 1) {
    // The common case needs no snapshot: the one subscription is hooked as the walk starts.
    const sub = list[0]!;
    yield* sub.ops.arch_invalidate_secondary_tlbs(sub, mm, start, end);
  } else {
    for (const sub of list.slice()) if (sub.hooked) yield* sub.ops.arch_invalidate_secondary_tlbs(sub, mm, start, end);
  }
  obs?.after(mm);
  srcu_read_unlock(ssp);
}
