/**
 * The process's own references to its mm (kernel/exit.c, kernel/sched/core.c, v6.17). At exit
 * the task drops its mm_users (mmput: the last one tears the address space down) but keeps the
 * mm_struct as its lazy-TLB active_mm (mmgrab_lazy_tlb) until the scheduler switches away
 * (finish_task_switch → mmdrop_lazy_tlb). The harness's exit and mmdrop commands are these two
 * halves.
 */
import { sync } from './sched.js';
import { mmdrop, mmgrab, mmput } from './mm.js';
import type { MmStruct } from './types.js';

/** kernel/exit.c: exit_mm (v6.17): mmgrab_lazy_tlb(mm), then mmput(mm). */
export function exit_mm(mm: MmStruct): void {
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, 'exit');
  mmgrab(mm);
  sync(mm.kernel, mmput(mm)); // BRIDGE(core)
}

/** kernel/sched/core.c: finish_task_switch → mmdrop_lazy_tlb (v6.17). */
export function mmdrop_lazy_tlb(mm: MmStruct): void {
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, 'mmdrop (lazy tlb)');
  mmdrop(mm);
}
