/**
 * The architecture's TLB-flush paths that reach mmu_notifier_arch_invalidate_secondary_tlbs
 * (v6.6+: the secondary-TLB hook is called from the arch flush, not from the mm code). The
 * platform picks the CPU (shared/topology.ts PLATFORM_CPU). Every flush is a generator: the
 * secondary-TLB hook calls the drivers' notifier ops, which take locks.
 */
import { PLATFORM_CPU, type Topology } from '../../../shared/index.js';
import type { MmuGather } from '../mmuGather.js';
import type { Co } from '../sched.js';
import type { MmStruct } from '../types.js';
import { makeArm64 } from './arm64.js';
import { makeX86 } from './x86.js';

export interface Arch {
  readonly name: 'x86' | 'arm64';
  /** PAGE_OFFSET: where the direct map starts; the kernel page-table free path flushes from it. */
  readonly pageOffset: bigint;
  /**
   * CONFIG_ASYNC_KERNEL_PGTABLE_FREE: freed kernel page-table pages go through
   * kernel_pgtable_work_func, which flushes SVA secondary TLBs first (v6.18). Selected by
   * arch/x86/Kconfig `if IOMMU_SVA` only; arm64 frees them directly (the SMMU never walks TTB1).
   */
  readonly asyncKernelPgtableFree: boolean;
  /**
   * The kernel half is reachable through the user pgd. x86 pgd_alloc copies the kernel's
   * top-level entries into every pgd (arch/x86/mm/pgtable.c: pgd_ctor), so an SVA walk of the
   * PASID's FLPTR can cache them. arm64 keeps the kernel in TTBR1 (swapper_pg_dir) and the SVA
   * CD sets EPD1, so the SMMU never sees it.
   */
  readonly kernelInUserPgd: boolean;
  /** asm/tlb.h: tlb_flush(tlb), called by tlb_flush_mmu_tlbonly once something was cleared. */
  tlb_flush(tlb: MmuGather): Co;
  /** flush_tlb_mm(mm): the whole address space, (0, ULONG_MAX) for secondary TLBs. */
  flush_tlb_mm(mm: MmStruct): Co;
  /** flush_tlb_page(vma, addr): one page (ptep_clear_flush: the COW break's old PTE). */
  flush_tlb_page(mm: MmStruct, vpn: number): Co;
  /** The flush (if any) after a write fault made a present read-only PTE writable. */
  flush_tlb_upgrade(mm: MmStruct, vpn: number): Co;
  /**
   * asm/tlbflush.h: arch_tlbbatch_add_pending: a PTE cleared with its CPU flush deferred
   * (reclaim, migration); where the secondary-TLB hook runs for batched unmaps.
   */
  tlbbatch_add_pending(mm: MmStruct, vpn: number): Co;
}

export const archFor = (topology: Topology, cpuTlbRange: boolean): Arch =>
  PLATFORM_CPU[topology.platform] === 'x86' ? makeX86(topology.ptLevels) : makeArm64(topology.ptLevels, cpuTlbRange);
