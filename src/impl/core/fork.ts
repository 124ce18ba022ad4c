/**
 * kernel/fork.c: dup_mm → mm_init + dup_mmap (v6.17). The child gets its own pgd and, through
 * mm_pasid_init, no iommu_mm: the memcpy of the parent's mm_struct must not share the PASID
 * (B03). DEVIATION: copy_page_range copies present pages eagerly into fresh frames with the
 * same content and PTE bits instead of sharing them copy-on-write, so the parent's PTEs are not
 * write-protected; dup_mmap's final flush_tlb_mm(oldmm) is kept, as in the kernel. dup_mmap
 * holds the parent's mmap_lock for writing throughout, and the child's (nested: "not linked
 * in yet - no deadlock potential") for the copy; the flush runs after the child's unlock.
 */
import { makePte, pteFrame } from '../../hw/mem.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { mm_alloc } from './mm.js';
import { pte_offset, pte_offset_alloc } from './pgtable.js';
import type { MmStruct } from './types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import type { Co } from './sched.js';

/** P, W and U: the child's PTE keeps the parent's permissions (and PROT_NONE state). */
const PTE_BITS = 7;

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

/** kernel/fork.c: dup_mmap (v7.0-rc5). */
function* dup_mmap(mm: MmStruct, oldmm: MmStruct): Co {
  const kernel = oldmm.kernel;
  const mem = kernel.mem;
  const slot = mm.slot;
  yield* mmap_write_lock(oldmm); // mmap_write_lock_killable
  yield* mmap_write_lock(mm); // mmap_write_lock_nested(mm, SINGLE_DEPTH_NESTING)
  for (const v of oldmm.vmas) {
    mm.vmas.push({ first: v.first, count: v.count, prot: v.prot });
    for (let page = v.first; page < v.first + v.count; page++) {
      const vpn = userVpn(page);
      const src = pte_offset(mem, oldmm.pgd.root, oldmm.pgd.levels, vpn);
      if (src === undefined) continue;
      const e = mem.entry(src.table, src.index);
      if (e === 0) continue;
      const dst = pte_offset_alloc(mem, mm.pgd.root, mm.pgd.levels, slot, vpn);
      const frame = mem.alloc('data', slot, mem.token(pteFrame(e)));
      mem.setEntry(dst.table, dst.index, makePte(frame, e & PTE_BITS));
    }
  }
  kernel.trace?.event('cpu', `mm${oldmm.slot}`, `fork → mm${slot}`);
  yield* mmap_write_unlock(mm);
  yield* coreOf(kernel).arch.flush_tlb_mm(oldmm);
  yield* mmap_write_unlock(oldmm);
}
