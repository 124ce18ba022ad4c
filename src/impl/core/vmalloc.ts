/**
 * Kernel vmalloc pages on the shared kernel half (mm/vmalloc.c, v6.17/6.18) and the freeing
 * of kernel page-table pages that CVE-2025-71202 is about. Every SVA mm's IOMMU walks the same
 * kernel tables (x86 copies the kernel pgd entries into each mm), so an IOMMU paging-structure
 * cache may hold a pointer to a kernel table page; before that page is reused every SVA mm's
 * secondary TLBs must be flushed.
 */
import { KERNEL_OWNER, pteFrame } from '../../hw/mem.js';
import { levelIndex } from '../../hw/radix.js';
import { ULONG_MAX, kernelVpn } from '../../shared/index.js';
import { iommu_sva_invalidate_kva_range } from './iommuSva.js';
import { coreOf } from './kernel.js';
import { pte_offset } from './pgtable.js';
import type { Kernel } from './types.js';
import type { Co } from './sched.js';

/** mm/vmalloc.c: __vmalloc_node_range (v6.17): the page first, then vmap_pages_range (tables on demand). */
export function vmalloc(kernel: Kernel, kpage: number): void {
  const g = coreOf(kernel);
  const frame = kernel.mem.alloc('data', KERNEL_OWNER, g.content.populateKernel(kpage));
  g.kspace.map(kernelVpn(kpage), frame, true, false);
  kernel.trace?.event('cpu', 'kernel', `vmalloc k${kpage}: frame ${frame}`);
}

/**
 * mm/vmalloc.c: vfree (v6.17): vunmap the leaf (the CPU-side flush_tlb_kernel_range does not
 * reach secondary TLBs) and free the page. Then the now-empty PTE table leaves the tree and
 * goes through pagetable_free_kernel; v6.18's kernel_pgtable_work_func (fix for
 * CVE-2025-71202) calls iommu_sva_invalidate_kva_range(PAGE_OFFSET, TLB_FLUSH_ALL) before
 * __pagetable_free. The deferred work runs synchronously here. (Real vfree keeps vmalloc page
 * tables; freeing this one stands for the kernel's table-freeing paths.)
 */
export function* vfree(kernel: Kernel, kpage: number): Co {
  const g = coreOf(kernel);
  const mem = kernel.mem;
  const ks = g.kspace;
  const vpn = kernelVpn(kpage);
  const e = ks.unmap(vpn);
  if (e === 0) throw new Error(`vfree of unmapped kernel page ${kpage} (caller contract)`);
  mem.free(pteFrame(e));
  kernel.trace?.event('cpu', 'kernel', `vfree k${kpage}`);
  const leaf = pte_offset(mem, ks.root, ks.rootLevel, vpn);
  if (leaf === undefined) return;
  const table = leaf.table;
  if (mem.usedEntries(table) !== 0) return;
  const parent = parentSlot(kernel, vpn);
  mem.setEntry(parent.table, parent.index, 0);
  kernel.trace?.event('cpu', 'kernel', `pagetable_free_kernel: PTE table frame ${table} of k${kpage} leaves the kernel page tables`);
  if (kernel.fault === 'B14') {
    // Before e37d5a2d60a3 (CVE-2025-71202, v6.18): pagetable_free_kernel freed the table page
    // at once; nothing told the IOMMUs, whose paging-structure caches may still point at it.
    mem.free(table);
    return;
  }
  // pagetable_free_kernel: only x86 selects ASYNC_KERNEL_PGTABLE_FREE (arch/x86/Kconfig).
  if (g.arch.asyncKernelPgtableFree) yield* iommu_sva_invalidate_kva_range(kernel, g.arch.pageOffset, ULONG_MAX);
  mem.free(table);
}

/** The level-2 slot that points at vpn's PTE table. */
function parentSlot(kernel: Kernel, vpn: number): { table: number; index: number } {
  const mem = kernel.mem;
  const ks = coreOf(kernel).kspace;
  let table = ks.root;
  for (let level = ks.rootLevel; level > 2; level--) table = pteFrame(mem.entry(table, levelIndex(vpn, level)));
  return { table, index: levelIndex(vpn, 2) };
}
