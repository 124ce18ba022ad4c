/**
 * mm/mprotect.c: do_mprotect_pkey → mprotect_fixup → change_protection (v6.17, as in
 * v7.0-rc5), for one page, under mmap_write_lock: the VMA is split so the page has its own,
 * then its PTE is rewritten under an mmu_gather and flushed at tlb_finish_mmu, before the
 * unlock.
 */
import { PTE_P, PTE_U, PTE_W, makePte, pteFrame } from '../../hw/mem.js';
import type { Prot } from '../../shared/index.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { type MmuGather, tlb_finish_mmu, tlb_flush_pte_range, tlb_gather_mmu } from './mmuGather.js';
import { pte_mkprotnone, pte_offset } from './pgtable.js';
import type { MmStruct } from './types.js';
import { isolate_range } from './vma.js';
import { mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import type { Co } from './sched.js';

/**
 * The PTE change_pte_range writes: pte_modify to the new protection (a private mapping's
 * vm_page_prot is never writable), and for 'rw' the MM_CP_TRY_CHANGE_WRITABLE upgrade when
 * can_change_pte_writable holds (v7.0-rc5): for a private mapping only on an exclusive
 * anonymous page (PageAnonExclusive). A page still shared copy-on-write since a fork stays
 * read-only; its next write fault breaks the sharing.
 */
const newPte = (frame: number, prot: Prot, exclusive: boolean): number =>
  prot === 'none' ? pte_mkprotnone(frame) : makePte(frame, PTE_P | PTE_U | (prot === 'rw' && exclusive ? PTE_W : 0));

export function* do_mprotect(mm: MmStruct, page: number, prot: Prot): Co {
  yield* mmap_write_lock(mm);
  const { lo, hi } = isolate_range(mm, page, page + 1);
  if (hi - lo !== 1) throw new Error(`mprotect of page ${page} outside any VMA of mm${mm.slot} (caller contract)`);
  // do_mprotect_pkey: tlb_gather_mmu before the VMA walk, tlb_finish_mmu after it.
  const tlb = tlb_gather_mmu(mm);
  yield* mprotect_fixup(tlb, mm, lo, page, prot);
  yield* tlb_finish_mmu(tlb);
  yield* mmap_write_unlock(mm);
}

/** mprotect_fixup → change_protection → change_pte_range, for the page's own VMA. */
function* mprotect_fixup(tlb: MmuGather, mm: MmStruct, i: number, page: number, prot: Prot): Co {
  mm.vmas[i]!.prot = prot;
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, `mprotect page ${page} ${prot}`);
  const mem = mm.kernel.mem;
  const vpn = userVpn(page);
  const slot = pte_offset(mem, mm.pgd.root, mm.pgd.levels, vpn);
  if (slot === undefined) return;
  const old = mem.entry(slot.table, slot.index);
  if (old === 0) return;
  const ptent = newPte(pteFrame(old), prot, mem.anonExclusive(pteFrame(old)));
  mem.setEntry(slot.table, slot.index, ptent);
  // pte_needs_flush: x86 (arch/x86/include/asm/tlbflush.h) flushes when a flush_on_clear flag
  // went away or a flush_on_change flag (RW, PROTNONE/GLOBAL ...) changed: any change here.
  // arm64 uses the generic pte_needs_flush, always true.
  if (coreOf(mm.kernel).arch.name === 'arm64' || ptent !== old) tlb_flush_pte_range(tlb, vpn);
}
