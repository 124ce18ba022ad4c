/**
 * The process's own references to its mm (kernel/exit.c, kernel/sched/core.c, v6.17). At exit
 * the task drops its mm_users (mmput: the last one tears the address space down) but keeps the
 * mm_struct as its lazy-TLB active_mm (mmgrab_lazy_tlb) until the scheduler switches away
 * (finish_task_switch → mmdrop_lazy_tlb). The harness's exit and mmdrop commands are these two
 * halves.
 */
import type { Co } from './sched.js';
import { mmap_read_lock, mmap_read_unlock } from './mmapLock.js';
import { mmdrop, mmgrab, mmput } from './mm.js';
import type { MmStruct } from './types.js';

/**
 * kernel/exit.c: exit_mm (v6.17, as in v7.0-rc5): under mmap_read_lock, mmgrab_lazy_tlb(mm)
 * and current->mm = NULL; after the unlock, mmput(mm).
 */
export function* exit_mm(mm: MmStruct): Co {
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, 'exit');
  yield* mmap_read_lock(mm);
  mmgrab(mm);
  yield* mmap_read_unlock(mm);
  yield* mmput(mm);
}

/** kernel/sched/core.c: finish_task_switch → mmdrop_lazy_tlb (v6.17). */
export function mmdrop_lazy_tlb(mm: MmStruct): void {
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, 'mmdrop (lazy tlb)');
  mmdrop(mm);
}
