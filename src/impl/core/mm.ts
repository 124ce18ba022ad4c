/**
 * kernel/fork.c (v6.17): the mm_struct lifecycle. mm_users counts the users of the address
 * space (tasks, mmget); mm_count pins the struct itself (mmgrab: SVA domains, mmu notifiers,
 * lazy-TLB users). The last mmput tears the address space down (__mmput → exit_mmap); the last
 * mmdrop frees the struct (__mmdrop), and only then the PASID (mm_pasid_drop).
 */
import type { Co } from './sched.js';
import { CpuPageTable } from '../../hw/pagetable.js';
import { exit_mmap } from './exitMmap.js';
import { coreOf } from './kernel.js';
import { init_rwsem, spin_lock_init } from './locking.js';
import { mm_pasid_drop } from './pasid.js';
import type { Kernel, MmStruct } from './types.js';

/**
 * kernel/fork.c: mm_alloc → mm_init (v6.17): a fresh mm with its own pgd (on x86 pgd_alloc copies
 * the kernel half), mm_users = mm_count = 1, and mm_pasid_init: no iommu_mm.
 */
export function mm_alloc(kernel: Kernel, slot: number, gen: number): MmStruct {
  const core = coreOf(kernel);
  const pgd = new CpuPageTable(kernel.mem, kernel.topology.ptLevels, slot, core.arch.kernelInUserPgd ? core.kspace : undefined);
  const mm: MmStruct = {
    kernel, slot, gen, mm_users: 1, mm_count: 1, pgd, vmas: [],
    mmap_lock: init_rwsem(kernel, '&mm->mmap_lock'), // mmap_init_lock
    // No scheduling points of its own: the fault reads the PTE only under it, and nothing of
    // what it does between its mmap_lock and the lock is read by another task (locking.ts).
    page_table_lock: spin_lock_init(kernel, '&mm->page_table_lock', false),
    iommu_mm: undefined, // mm_pasid_init
    notifiers: [], exited: false, freed: false,
  };
  core.mms[slot] = mm;
  kernel.trace?.event('cpu', `mm${slot}`, `mm_alloc (incarnation ${gen}, pgd frame ${pgd.pgd})`);
  return mm;
}

/** include/linux/sched/mm.h: mmgrab. */
export function mmgrab(mm: MmStruct): void {
  if (mm.freed) throw new Error(`mmgrab of freed mm${mm.slot}#${mm.gen}`);
  mm.mm_count++;
}

/** include/linux/sched/mm.h: mmdrop: __mmdrop at the last reference. */
export function mmdrop(mm: MmStruct): void {
  if (mm.mm_count <= 0) throw new Error(`mmdrop underflow on mm${mm.slot}#${mm.gen}`);
  if (--mm.mm_count === 0) __mmdrop(mm);
}

/** include/linux/sched/mm.h: mmget. */
export function mmget(mm: MmStruct): void {
  mm.mm_users++;
}

/** include/linux/sched/mm.h: mmget_not_zero: fails once the address space is being torn down. */
export function mmget_not_zero(mm: MmStruct): boolean {
  if (mm.mm_users === 0) return false;
  mm.mm_users++;
  return true;
}

/** kernel/fork.c: mmput (v6.17). */
export function* mmput(mm: MmStruct): Co {
  if (mm.mm_users <= 0) throw new Error(`mmput underflow on mm${mm.slot}#${mm.gen}`);
  if (--mm.mm_users === 0) yield* __mmput(mm);
}

/**
 * kernel/fork.c: __mmput (v6.17): exit_mmap (release, then unmap and free), then drop the
 * mm_count reference that all mm_users held together.
 */
function* __mmput(mm: MmStruct): Co {
  mm.exited = true;
  yield* exit_mmap(mm);
  // B01: 701fac40384f (v5.18-rc1) dropped the PASID here, with the address space, although
  // the SVA domains (through mmgrab) and the unbind at file release still use it.
  // 2667ed10d9f0 (v5.18-rc6) moved mm_pasid_drop to __mmdrop.
  if (mm.kernel.fault === 'B01') mm_pasid_drop(mm);
  mmdrop(mm);
}

/**
 * kernel/fork.c: __mmdrop (v6.17): mm_free_pgd, mmu_notifier_subscriptions_destroy (which
 * BUG()s if a notifier is still hooked), then mm_pasid_drop: the PASID returns to the IDA only
 * here, never at exit or unbind.
 */
export function __mmdrop(mm: MmStruct): void {
  if (mm.notifiers.length > 0) throw new Error(`__mmdrop of mm${mm.slot}#${mm.gen} with hooked notifiers`);
  mm.kernel.mem.free(mm.pgd.pgd);
  // B01: before 2667ed10d9f0 __mmdrop did not drop the PASID; __mmput had.
  if (mm.kernel.fault !== 'B01') mm_pasid_drop(mm);
  mm.freed = true;
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, `__mmdrop (incarnation ${mm.gen})`);
}
