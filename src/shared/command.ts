/**
 * The one vocabulary every part shares: the spec steps on it, the impl dispatches on it, the
 * generators produce it and traces store it. Objects are named by small integer ids in a
 * fixed topology (dev 0..D-1, mm 0..M-1, page 0..P-1, kpage 0..K-1), never by reference, so a
 * saved trace replays after the generators change.
 */

/** VMA / PTE protection. 'none' exists only as an mprotect target. */
export type Prot = 'none' | 'r' | 'rw';

import type { FailSite } from './failSite.js';

export type Command =
  /** iommu_sva_bind_device(dev, mm); the caller holds an mm_users reference. */
  | { readonly kind: 'bind'; readonly dev: number; readonly mm: number }
  /** iommu_sva_unbind_device on that pair's handle (drops one reference). */
  | { readonly kind: 'unbind'; readonly dev: number; readonly mm: number }
  /** mmap(MAP_ANONYMOUS) of pages [first, first+count): a VMA, no page present yet. */
  | { readonly kind: 'mmap'; readonly mm: number; readonly first: number; readonly count: number; readonly prot: 'r' | 'rw' }
  /** CPU access: fault the page in (fresh frame) or upgrade a read-only PTE on write. */
  | { readonly kind: 'touch'; readonly mm: number; readonly page: number; readonly write: boolean }
  /** munmap: zap PTEs, invalidate secondary TLBs for the range, free frames and empty tables. */
  | { readonly kind: 'munmap'; readonly mm: number; readonly first: number; readonly count: number }
  /** mprotect of one page; a downgrade must invalidate secondary TLBs. */
  | { readonly kind: 'mprotect'; readonly mm: number; readonly page: number; readonly prot: Prot }
  /** The device accesses the page through the mm's PASID: ATC, then IOMMU caches, then a walk. */
  | { readonly kind: 'dma'; readonly dev: number; readonly mm: number; readonly page: number; readonly write: boolean }
  /** Last mmput: exit_mmap runs the notifiers' release, then frees tables and frames. */
  | { readonly kind: 'exit'; readonly mm: number }
  /** The process drops its own mm_count reference; __mmdrop runs once nothing else holds one. */
  | { readonly kind: 'mmdrop'; readonly mm: number }
  /** dup_mm of mm into the free slot child: VMAs and page contents copied, no iommu_mm. */
  | { readonly kind: 'fork'; readonly mm: number; readonly child: number }
  /** A new process starts in the free mm slot (fresh mm_struct, empty address space). */
  | { readonly kind: 'spawn'; readonly mm: number }
  /** An SRCU grace period elapses: deferred mmu_notifier free_notifier callbacks run. */
  | { readonly kind: 'gracePeriod' }
  /** The hardware adversary: the device's ATC and its IOMMU cache whatever they can walk now. */
  | { readonly kind: 'prefetch'; readonly dev: number; readonly mm: number; readonly page: number }
  /**
   * The hardware adversary walks kernel page k through the mm's PASID: a device may put any
   * address in a request, and the walk through the mm's pgd (whose kernel half x86 shares)
   * fills the paging-structure cache before the supervisor leaf faults the access.
   */
  | { readonly kind: 'prefetchKernel'; readonly dev: number; readonly mm: number; readonly kpage: number }
  /**
   * Surprise removal of the device (pciehp): pci_dev_is_disconnected becomes true, then the
   * bound driver's remove unbinds every bond it holds (uacce_remove → iommu_sva_unbind_device).
   * The device is gone afterwards: no later command may name it.
   */
  | { readonly kind: 'unplug'; readonly dev: number }
  /** Kernel vmalloc of kernel page k (allocates its kernel page-table page if needed). */
  | { readonly kind: 'vmalloc'; readonly kpage: number }
  /** Kernel vfree of kernel page k: the leaf and its now-empty kernel page-table page are freed. */
  | { readonly kind: 'vfree'; readonly kpage: number }
  /** Fault injection: the next call at site (failSite.ts) fails, whichever command makes it. */
  | { readonly kind: 'failNext'; readonly site: FailSite }
  /** Fault injection, /proc/self/fail-nth style: the n-th fallible call (1-based) of the next command fails. */
  | { readonly kind: 'failNth'; readonly n: number }
  /**
   * The I/O page-fault machinery runs: each IOMMU's fault interrupt thread reports the page
   * requests its hardware queued, and the IOPF workqueue handles and answers them.
   */
  | { readonly kind: 'serviceFaults' };

export type CommandKind = Command['kind'];

export const COMMAND_KINDS: readonly CommandKind[] = [
  'bind', 'unbind', 'mmap', 'touch', 'munmap', 'mprotect', 'dma', 'exit', 'mmdrop', 'fork',
  'spawn', 'gracePeriod', 'prefetch', 'vmalloc', 'vfree', 'failNext', 'serviceFaults', 'prefetchKernel', 'unplug',
  'failNth',
];
