/**
 * include/asm-generic/tlb.h + mm/mmu_gather.c (v6.17): the mmu_gather batches what an unmap
 * cleared (the VA range, which levels), the pages and the page-table pages it took out, and
 * frees them only after the TLB flush, so that no CPU or IOMMU can still reach them through a
 * stale translation or walk-cache entry when they are reused.
 */
import { coreOf } from './kernel.js';
import type { Co } from './sched.js';
import type { MmStruct } from './types.js';

export interface MmuGather {
  readonly mm: MmStruct;
  /** tlb_gather_mmu_fullmm: the whole address space is going away (exit_mmap). */
  readonly fullmm: boolean;
  /** Gathered range in vpns, [start, end); start = +Infinity while empty (__tlb_reset_range). */
  start: number;
  end: number;
  freed_tables: boolean;
  cleared_ptes: boolean;
  cleared_pmds: boolean;
  cleared_puds: boolean;
  cleared_p4ds: boolean;
  /** Data frames whose reference to drop after the flush (tlb_remove_page batch). */
  readonly pages: number[];
  /** Page-table frames to free after the flush (tlb_remove_table batch). */
  readonly tables: number[];
}

/** mm/mmu_gather.c: tlb_gather_mmu / tlb_gather_mmu_fullmm (v6.17). */
export function tlb_gather_mmu(mm: MmStruct, fullmm = false): MmuGather {
  return {
    mm, fullmm, start: Infinity, end: 0, freed_tables: false,
    cleared_ptes: false, cleared_pmds: false, cleared_puds: false, cleared_p4ds: false,
    pages: [], tables: [],
  };
}

/** asm-generic/tlb.h: __tlb_adjust_range. */
function adjust(tlb: MmuGather, vpn: number, pages: number): void {
  if (vpn < tlb.start) tlb.start = vpn;
  if (vpn + pages > tlb.end) tlb.end = vpn + pages;
}

/** asm-generic/tlb.h: tlb_flush_pte_range (tlb_remove_tlb_entry of a zapped or changed PTE). */
export function tlb_flush_pte_range(tlb: MmuGather, vpn: number, pages = 1): void {
  adjust(tlb, vpn, pages);
  tlb.cleared_ptes = true;
}

/** tlb_remove_page: the page is freed once the TLB flush is done. */
export function tlb_remove_page(tlb: MmuGather, frame: number): void {
  tlb.pages.push(frame);
}

/**
 * asm-generic/tlb.h: pte_free_tlb / pmd_free_tlb / pud_free_tlb / p4d_free_tlb (v6.17): a
 * table page of `level` (1 = PTE table) that mapped `vpn` leaves the tree. Its page is added to
 * the range and the level above marked cleared, so the walk caches get flushed too.
 */
export function tlb_free_table(tlb: MmuGather, level: number, frame: number, vpn: number): void {
  adjust(tlb, vpn, 1);
  if (level === 1) tlb.cleared_pmds = true;
  else if (level === 2) tlb.cleared_puds = true;
  else if (level === 3) tlb.cleared_p4ds = true;
  tlb.freed_tables = true;
  tlb.tables.push(frame);
}

/**
 * mm/mmu_gather.c: tlb_finish_mmu → tlb_flush_mmu (v6.17): tlb_flush_mmu_tlbonly (the arch
 * flush, hence the secondary-TLB hook, only if something was cleared), then
 * tlb_flush_mmu_free: the table pages (tlb_table_flush), then the pages. The RCU delay of
 * MMU_GATHER_RCU_TABLE_FREE is not modelled: tables are freed right after the flush.
 */
export function* tlb_finish_mmu(tlb: MmuGather): Co {
  const { mem, trace } = tlb.mm.kernel;
  if (tlb.freed_tables || tlb.cleared_ptes || tlb.cleared_pmds || tlb.cleared_puds || tlb.cleared_p4ds) {
    if (trace) trace.event('cpu', `mm${tlb.mm.slot}`, tlb.fullmm ? 'tlb_flush fullmm' : `tlb_flush vpn [${tlb.start.toString(16)}, ${tlb.end.toString(16)})`);
    yield* coreOf(tlb.mm.kernel).arch.tlb_flush(tlb);
  }
  for (const f of tlb.tables) mem.free(f);
  // free_pages_and_swap_cache: each gathered page loses this mm's reference; a page another
  // mm still maps (copy-on-write after fork) survives.
  for (const f of tlb.pages) mem.put(f, tlb.mm.slot);
  tlb.tables.length = 0;
  tlb.pages.length = 0;
}
