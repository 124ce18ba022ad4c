/**
 * kernel/fork.c: dup_mm → mm_init + dup_mmap (v7.0-rc5; dup_mmap moved to mm/mmap.c in v6.16),
 * with mm/memory.c's copy_page_range. The child gets its own pgd and, through mm_pasid_init,
 * no iommu_mm: the memcpy of the parent's mm_struct must not share the PASID (B03). Anonymous
 * pages are shared copy-on-write: the child maps the parent's frames, both PTEs lose their
 * write bit, and the first write fault on either side (CPU or device, fault.ts) breaks the
 * sharing. The parent's secondary TLBs (SVA IOTLBs and ATCs) may still hold the old writable
 * translations until dup_mmap's final flush_tlb_mm(oldmm), which sends them (0, ULONG_MAX).
 * dup_mmap holds the parent's mmap_lock for writing throughout, and the child's (nested: "not
 * linked in yet - no deadlock potential") for the copy; the flush runs after the child's unlock.
 */
import { PTE_P, PTE_U, PTE_W, makePte, pteFrame, type PhysMem } from '../../hw/mem.js';
import { levelIndex } from '../../hw/radix.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { mm_alloc } from './mm.js';
import type { PteSlot } from './pgtable.js';
import type { MmStruct, Vma } from './types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import type { Co } from './sched.js';

export function* dup_mm(oldmm: MmStruct, slot: number, gen: number): Co<MmStruct> {
  const kernel = oldmm.kernel;
  const mm = mm_alloc(kernel, slot, gen);
  if (kernel.fault === 'B03') {
    // B03 (dc7507ddce59, v5.18, "x86/fpu: Clear PASID when copying fpstate"): fpu_clone copied
    // the parent's PASID MSR state into the child. No task state is modelled, so the copy is
    // rendered where today's kernel keeps the PASID: mm->iommu_mm, which dup_mm's
    // memcpy(mm, oldmm) copies and mm_init → mm_pasid_init must clear. Without the clearing the
    // child shares the parent's iommu_mm, and so its PASID.
    mm.iommu_mm = oldmm.iommu_mm;
  }
  yield* dup_mmap(mm, oldmm);
  return mm;
}

/**
 * mm/mmap.c: dup_mmap (v7.0-rc5): each VMA is duplicated (vm_area_dup; anon_vma_fork gives the
 * copy an anon_vma when the parent's has one) and its page tables copied (copy_page_range).
 */
function* dup_mmap(mm: MmStruct, oldmm: MmStruct): Co {
  const kernel = oldmm.kernel;
  yield* mmap_write_lock(oldmm); // mmap_write_lock_killable
  yield* mmap_write_lock(mm); // mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING)
  for (const mpnt of oldmm.vmas) {
    const tmp: Vma = { first: mpnt.first, count: mpnt.count, prot: mpnt.prot, anon_vma: mpnt.anon_vma };
    mm.vmas.push(tmp);
    copy_page_range(mm, tmp, oldmm, mpnt);
  }
  kernel.trace?.event('cpu', `mm${oldmm.slot}`, `fork → mm${mm.slot} (copy-on-write)`);
  yield* mmap_write_unlock(mm);
  yield* coreOf(kernel).arch.flush_tlb_mm(oldmm);
  yield* mmap_write_unlock(oldmm);
}

/**
 * mm/memory.c: copy_page_range (v7.0-rc5). vma_needs_copy: an anonymous VMA without anon_vma
 * never had a page, so nothing is copied. Every VMA here is a private anonymous mapping, so
 * is_cow_mapping holds (VM_MAYWRITE without VM_SHARED, whatever the current protection) and
 * the parent's range is bracketed by mmu_notifier_invalidate_range_start/end
 * (MMU_NOTIFY_PROTECTION_PAGE, src_mm, the VMA's range). No SVA subscription has
 * invalidate_range_start/end (the drivers flush from the arch hook since v6.6), so the
 * bracket reaches no IOMMU: the secondary TLBs learn of the write-protect only at dup_mmap's
 * flush_tlb_mm. The src_mm->write_protect_seq and the PTL (no yield here) are held across
 * the copy, so no walker or fault of the parent sees a half-copied range.
 */
function copy_page_range(dst: MmStruct, _dstVma: Vma, src: MmStruct, srcVma: Vma): void {
  if (!srcVma.anon_vma) return;
  const mem = src.kernel.mem;
  for (let page = srcVma.first; page < srcVma.first + srcVma.count; page++) {
    const vpn = userVpn(page);
    const slots = copy_pXd_range(mem, src, dst, vpn);
    if (slots === undefined) continue;
    const e = mem.entry(slots.src.table, slots.src.index);
    // pte_none: nothing to copy (no swap or migration entries exist here).
    if (e === 0) continue;
    copy_present_pte(mem, dst, slots, e);
  }
}

/**
 * copy_p4d_range → copy_pud_range → copy_pmd_range → copy_pte_range's walk (v7.0-rc5): each
 * level of the child's tables is allocated (p4d_alloc, pud_alloc, pmd_alloc,
 * pte_alloc_map_lock) once the parent's entry above it is present, and the walk skips a range
 * whose parent entry is none (pXd_none_or_clear_bad). Returns both leaf slots, or undefined when
 * the parent has no PTE table there.
 */
function copy_pXd_range(mem: PhysMem, src: MmStruct, dst: MmStruct, vpn: number): { src: PteSlot; dst: PteSlot } | undefined {
  let s = src.pgd.root;
  let d = dst.pgd.root;
  for (let level = src.pgd.levels; level > 1; level--) {
    const index = levelIndex(vpn, level);
    const se = mem.entry(s, index);
    if ((se & PTE_P) === 0) return undefined;
    let de = mem.entry(d, index);
    if ((de & PTE_P) === 0) {
      const next = mem.alloc('table', dst.slot);
      de = makePte(next, PTE_P | PTE_W | PTE_U);
      mem.setEntry(d, index, de);
    }
    s = pteFrame(se);
    d = pteFrame(de);
  }
  const index = levelIndex(vpn, 1);
  return { src: { table: s, index }, dst: { table: d, index } };
}

/**
 * mm/memory.c: copy_present_ptes → copy_present_pte (v7.0-rc5) for a small anonymous folio
 * (a present or PROT_NONE PTE): folio_get and folio_try_dup_anon_rmap_pte, which clears
 * PageAnonExclusive (no page is pinned for DMA here, so the -EBUSY fallback to
 * copy_present_page never runs); for a writable PTE in a COW mapping, ptep_set_wrprotect on the
 * parent's PTE and pte_wrprotect on the child's; then set_pte_at in the child. The parent's
 * PTE changes without a flush here: the caller's flush_tlb_mm sends it.
 */
function copy_present_pte(mem: PhysMem, dst: MmStruct, slots: { src: PteSlot; dst: PteSlot }, pte: number): void {
  const frame = pteFrame(pte);
  mem.get(frame, dst.slot);
  mem.setAnonExclusive(frame, false);
  let child = pte;
  if ((pte & PTE_W) !== 0) {
    mem.setEntry(slots.src.table, slots.src.index, pte & ~PTE_W);
    child = pte & ~PTE_W;
  }
  mem.setEntry(slots.dst.table, slots.dst.index, child);
}
