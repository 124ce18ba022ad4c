/**
 * munmap(2): mm/mmap.c: __vm_munmap (v6.17, as in v7.0-rc5) takes mmap_write_lock and calls
 * mm/vma.c: do_vmi_munmap(unlock = true) → do_vmi_align_munmap → vms_complete_munmap_vmas →
 * vms_clear_ptes: split the VMAs at the range ends and detach those inside under the write
 * lock, downgrade it to a read lock, zap their PTEs (unmap_vmas), free the page tables they
 * alone used (free_pgtables between the neighbouring VMAs), and only then, in tlb_finish_mmu,
 * flush (the secondary-TLB hook) and free the pages and tables; then mmap_read_unlock.
 */
import { userVpn } from '../../shared/index.js';
import { free_pgd_range } from './freePgtables.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmuGather.js';
import type { MmStruct } from './types.js';
import { isolate_range } from './vma.js';
import { mmap_read_unlock, mmap_write_downgrade, mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import type { Co } from './sched.js';
import { unmap_page_range } from './zap.js';

/** PMD_SIZE in pages: free_pgtables gathers detached VMAs closer than this into one call. */
const PMD_SPAN = 512;

const vmaStart = (first: number): number => userVpn(first);
const vmaEnd = (first: number, count: number): number => userVpn(first + count - 1) + 1;

export function* do_munmap(mm: MmStruct, first: number, count: number): Co {
  yield* mmap_write_lock(mm);
  const { lo, hi } = isolate_range(mm, first, first + count);
  if (lo === hi) {
    // do_vmi_munmap: no VMA in the range: unlock (vms->unlock) and return 0.
    yield* mmap_write_unlock(mm);
    return;
  }
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, `munmap pages [${first}, ${first + count})`);
  const detached = mm.vmas.splice(lo, hi - lo);
  const prev = mm.vmas[lo - 1];
  const next = mm.vmas[lo];
  // vms->unmap_start / unmap_end: the neighbours bound which page tables may go.
  const floor = prev ? vmaEnd(prev.first, prev.count) : 0; // FIRST_USER_ADDRESS
  const ceiling = next ? vmaStart(next.first) : 0; // USER_PGTABLES_CEILING

  yield* mmap_write_downgrade(mm);
  const tlb = tlb_gather_mmu(mm);
  for (const v of detached) yield* unmap_page_range(tlb, v.first, v.first + v.count);
  // mm/memory.c: free_pgtables (v6.17), over the detached VMAs.
  for (let i = 0; i < detached.length;) {
    const addr = vmaStart(detached[i]!.first);
    let j = i;
    while (j + 1 < detached.length && vmaStart(detached[j + 1]!.first) <= vmaEnd(detached[j]!.first, detached[j]!.count) + PMD_SPAN) j++;
    const last = detached[j]!;
    const following = detached[j + 1];
    free_pgd_range(tlb, addr, vmaEnd(last.first, last.count), floor, following ? vmaStart(following.first) : ceiling);
    i = j + 1;
  }
  yield* tlb_finish_mmu(tlb);
  yield* mmap_read_unlock(mm);
}
