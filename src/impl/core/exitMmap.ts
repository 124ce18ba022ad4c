/**
 * mm/mmap.c: exit_mmap (v6.17, as in v7.0-rc5). The notifiers' release runs first, with no
 * lock, while every page and table is still in place: it is the secondary MMUs' only chance
 * to stop using the mm before its memory is freed. Then, under mmap_read_lock, all VMAs are
 * unmapped through a full-mm mmu_gather (unmap_vmas); then, under mmap_write_lock, all user
 * page tables are freed (free_pgtables: floor FIRST_USER_ADDRESS, ceiling
 * USER_PGTABLES_CEILING), tlb_finish_mmu flushes and frees, and the VMAs go. The pgd itself
 * stays until __mmdrop (mm_free_pgd).
 */
import { userVpn } from '../../shared/index.js';
import { free_pgd_range } from './freePgtables.js';
import { mmap_read_lock, mmap_read_unlock, mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmuGather.js';
import { mmu_notifier_release } from './mmuNotifier.js';
import type { Co } from './sched.js';
import type { MmStruct } from './types.js';
import { unmap_page_range } from './zap.js';

export function* exit_mmap(mm: MmStruct): Co {
  yield* mmu_notifier_release(mm);
  yield* mmap_read_lock(mm);
  if (mm.vmas.length === 0) {
    // No VMA: straight to destroy, under the write lock.
    yield* mmap_read_unlock(mm);
    yield* mmap_write_lock(mm);
    yield* mmap_write_unlock(mm);
    return;
  }
  const tlb = tlb_gather_mmu(mm, true);
  // unmap_vmas over every VMA, [0, ULONG_MAX).
  for (const vma of mm.vmas) yield* unmap_page_range(tlb, vma.first, vma.first + vma.count);
  yield* mmap_read_unlock(mm);
  yield* mmap_write_lock(mm);
  const first = mm.vmas[0]!;
  const last = mm.vmas[mm.vmas.length - 1]!;
  free_pgd_range(tlb, userVpn(first.first), userVpn(last.first + last.count - 1) + 1, 0, 0);
  yield* tlb_finish_mmu(tlb);
  mm.vmas = []; // remove_vma of each, then __mt_destroy
  yield* mmap_write_unlock(mm);
}
