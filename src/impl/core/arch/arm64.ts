import { PAGE_SIZE, ULONG_MAX, vpnToVa } from '../../../shared/index.js';
import type { MmuGather } from '../mmuGather.js';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../mmuNotifier.js';
import type { Co } from '../sched.js';
import type { MmStruct } from '../types.js';
import type { Arch } from './index.js';

/** MAX_DVM_OPS = PTRS_PER_PTE: beyond it, per-page TLBIs risk soft lockups. */
const MAX_DVM_OPS = 512;
/** MAX_TLBI_RANGE_PAGES = __TLBI_RANGE_PAGES(31, 3) = 32 << 16. */
const MAX_TLBI_RANGE_PAGES = 32 * 2 ** 16;

/** arch/arm64/include/asm/tlbflush.h: flush_tlb_mm (v6.17): TLBI ASIDE1IS, then the hook for everything. */
function* flush_tlb_mm(mm: MmStruct): Co {
  yield* mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0n, ULONG_MAX);
}

export function makeArm64(levels: 4 | 5, tlbRange: boolean): Arch {
  /** tlbflush.h: __flush_tlb_range_limit_excess (v6.17); sizes in pages. */
  const limitExcess = (start: number, end: number, pages: number, stride: number): boolean =>
    (!tlbRange && end - start >= MAX_DVM_OPS * stride) || pages > MAX_TLBI_RANGE_PAGES;

  /**
   * tlbflush.h: __flush_tlb_range_nosync (v6.17), in vpn units: align to the stride, fall back
   * to flush_tlb_mm when too many TLBIs would be needed, else TLBI by VA and pass the aligned
   * [start, end) to the secondary TLBs.
   */
  function* flushTlbRange(mm: MmStruct, start: number, end: number, stride: number): Co {
    start = Math.floor(start / stride) * stride;
    end = Math.ceil(end / stride) * stride;
    if (limitExcess(start, end, end - start, stride)) return yield* flush_tlb_mm(mm);
    yield* mmu_notifier_arch_invalidate_secondary_tlbs(mm, vpnToVa(start), vpnToVa(end));
  }

  return {
    name: 'arm64',
    kernelInUserPgd: false,
    // PAGE_OFFSET = -(1 << VA_BITS): 48-bit VA, or 52-bit with the fifth level (LPA2).
    pageOffset: levels === 5 ? 0xfff0000000000000n : 0xffff000000000000n,
    asyncKernelPgtableFree: false,
    /**
     * arch/arm64/include/asm/tlb.h: tlb_flush (v6.17). A full-mm teardown only needs the walk
     * cache gone when tables were freed; otherwise __flush_tlb_range over the gathered range
     * at the stride of the largest level cleared (tlb_get_unmap_size).
     */
    *tlb_flush(tlb: MmuGather): Co {
      const lastLevel = !tlb.freed_tables;
      if (tlb.fullmm) {
        if (!lastLevel) yield* flush_tlb_mm(tlb.mm);
        return;
      }
      yield* flushTlbRange(tlb.mm, tlb.start, tlb.end, tlb_get_unmap_size(tlb));
    },
    flush_tlb_mm,
    /**
     * tlbflush.h: flush_tlb_page → __flush_tlb_page_nosync (v7.0-rc5): TLBI VALE1IS for the
     * page, then the hook for [addr, addr + PAGE_SIZE).
     */
    *flush_tlb_page(mm: MmStruct, vpn: number): Co {
      const va = vpnToVa(vpn);
      yield* mmu_notifier_arch_invalidate_secondary_tlbs(mm, va, va + PAGE_SIZE);
    },
    /**
     * arch/arm64/mm/fault.c: __ptep_set_access_flags (v6.17): "Invalidate a stale read-only
     * entry" → flush_tlb_page → __flush_tlb_page_nosync: the hook for [addr, addr + PAGE_SIZE).
     */
    *flush_tlb_upgrade(mm: MmStruct, vpn: number): Co {
      const va = vpnToVa(vpn);
      yield* mmu_notifier_arch_invalidate_secondary_tlbs(mm, va, va + PAGE_SIZE);
    },
    /**
     * tlbflush.h: arch_tlbbatch_add_pending (v7.0-rc5): __flush_tlb_range_nosync over the one
     * page (TLBI without the DSB, which arch_tlbbatch_flush issues): the hook gets that page.
     */
    *tlbbatch_add_pending(mm: MmStruct, vpn: number): Co {
      yield* flushTlbRange(mm, vpn, vpn + 1, 1);
    },
  };
}

/** asm-generic/tlb.h: tlb_get_unmap_shift/size (v6.17), in pages. */
function tlb_get_unmap_size(tlb: MmuGather): number {
  if (tlb.cleared_ptes) return 1;
  if (tlb.cleared_pmds) return 512;
  if (tlb.cleared_puds) return 512 ** 2;
  if (tlb.cleared_p4ds) return 512 ** 3;
  return 1;
}
