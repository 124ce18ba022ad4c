/**
 * mm/mmap.c: exit_mmap (v6.17). The notifiers' release runs first, while every page and table
 * is still in place: it is the secondary MMUs' only chance to stop using the mm before its
 * memory is freed. Then all VMAs are unmapped and all user page tables freed (floor
 * FIRST_USER_ADDRESS, ceiling USER_PGTABLES_CEILING) through a full-mm mmu_gather. The pgd
 * itself stays until __mmdrop (mm_free_pgd).
 */
import { userVpn } from '../../shared/index.js';
import { free_pgd_range } from './freePgtables.js';
import { tlb_finish_mmu, tlb_gather_mmu } from './mmuGather.js';
import { mmu_notifier_release } from './mmuNotifier.js';
import type { MmStruct } from './types.js';
import { unmap_page_range } from './zap.js';

export function exit_mmap(mm: MmStruct): void {
  mmu_notifier_release(mm);
  if (mm.vmas.length === 0) return;
  const tlb = tlb_gather_mmu(mm, true);
  for (const vma of mm.vmas) unmap_page_range(tlb, vma.first, vma.first + vma.count);
  const first = mm.vmas[0]!;
  const last = mm.vmas[mm.vmas.length - 1]!;
  free_pgd_range(tlb, userVpn(first.first), userVpn(last.first + last.count - 1) + 1, 0, 0);
  tlb_finish_mmu(tlb);
  mm.vmas = [];
}
