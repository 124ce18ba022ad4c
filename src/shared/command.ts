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
  /**
   * The PRI device sends `count` requests of a Page Request Group for pages page.., through the
   * mm's PASID, or with no PASID on its RID when `rid` (mm unused). With `last` the final one
   * carries LAST; without it the group stays open: the device's next prg on that PASID
   * continues it, and the device abandons it when it stops using the PASID (its last unbind).
   */
  | {
      readonly kind: 'prg'; readonly dev: number; readonly mm: number; readonly page: number;
      readonly count: number; readonly write: boolean; readonly rid: boolean; readonly last: boolean;
    }
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
  | { readonly kind: 'serviceFaults' }
  /**
   * iommufd PASID attach (IOMMU_HWPT_ALLOC + iommu_attach_device_pasid): paging domain `hwpt`
   * (0: a second-stage nest parent, 1: first-stage; allocated on first use, kept until destroyHwpt)
   * is attached to dev's group at the caller-chosen `pasid`.
   */
  | { readonly kind: 'attachPasid'; readonly dev: number; readonly hwpt: number; readonly pasid: number }
  /**
   * iommufd replace (iommu_replace_device_pasid): the PASID HWPT `from` is attached at in dev's
   * group switches to HWPT `hwpt` (allocated on first use) without passing through blocked.
   */
  | { readonly kind: 'replacePasid'; readonly dev: number; readonly hwpt: number; readonly from: number }
  /** iommu_detach_device_pasid of hwpt from dev's group (at the PASID it was attached at). */
  | { readonly kind: 'detachPasid'; readonly dev: number; readonly hwpt: number }
  /**
   * IOMMU_DESTROY of HWPT `hwpt` (allocated; -EBUSY while attached anywhere, or, for the nest
   * parent, while the nested HWPT lives). A paging HWPT goes with its IOAS: every mapping is
   * unmapped from the domain and flushed, the domain freed, then the buffers (and, for the nest
   * parent, the guest's RAM). The nested HWPT's domain goes alone: the guest's table stays.
   */
  | { readonly kind: 'destroyHwpt'; readonly hwpt: number }
  /** iommu_map of IOVA page `page` of hwpt to a fresh kernel buffer (IOMMU_READ, | IOMMU_WRITE). */
  | { readonly kind: 'iommuMap'; readonly hwpt: number; readonly page: number; readonly write: boolean }
  /** iommu_unmap of IOVA page `page` of hwpt (flush, then the buffer is freed). */
  | { readonly kind: 'iommuUnmap'; readonly hwpt: number; readonly page: number }
  /**
   * The guest writes a stage-1 leaf in its own table (HWPT 2, nested over HWPT 0): IOVA page
   * `page` → GPA page `gpa` (HWPT 0's IOVA page `gpa`), read-only or read-write. A new
   * mapping needs no invalidation (the hardware caches no non-present first-stage entry).
   */
  | { readonly kind: 'guestMap'; readonly page: number; readonly gpa: number; readonly write: boolean }
  /**
   * The guest clears the stage-1 leaf of IOVA page `page`, then asks for its invalidation: the
   * VMM passes the guest's PASID-based IOTLB invalidation through IOMMU_HWPT_INVALIDATE
   * (intel_nested_cache_invalidate_user, one page, IOMMU_VTD_INV_FLAGS_LEAF).
   */
  | { readonly kind: 'guestUnmap'; readonly page: number }
  /** The device accesses IOVA page `page` through the PASID hwpt is attached at in its group. */
  | { readonly kind: 'dmaIova'; readonly dev: number; readonly hwpt: number; readonly page: number; readonly write: boolean }
  /**
   * The device accesses page `page` (the same virtual page as user page / IOVA page `page`)
   * tagged with `pasid`, whatever is attached there now: an iommufd paging domain, an SVA mm,
   * or nothing. Addressed by (device, PASID), so it may race with a replace of that PASID.
   */
  | { readonly kind: 'dmaPasid'; readonly dev: number; readonly pasid: number; readonly page: number; readonly write: boolean }
  /**
   * The kernel migrates the page (compaction, NUMA balancing): PTE cleared with a batched
   * flush (x86: the secondary TLBs get (0, -1)), content moved to a new frame, PTE restored,
   * old frame freed. Nothing observable changes; a secondary TLB that kept the old frame is stale.
   */
  | { readonly kind: 'migrate'; readonly mm: number; readonly page: number }
  /**
   * The PRI device stops using the mm's PASID with a Stop Marker (PCIe 10.4.1.2; VT-d): its
   * groups there finished (none open), its outstanding requests turn stale (their responses
   * are ignored) and it sends a Stop Marker (L = 1, R = W = 0), which holds no credit and gets
   * no response. Later requests on the PASID are a new use of it.
   */
  | { readonly kind: 'stopMarker'; readonly dev: number; readonly mm: number };

export type CommandKind = Command['kind'];

/**
 * Kinds generated only inside concurrent groups (models/groups.ts): dmaPasid exists to race a
 * replace of its PASID; sequentially dma and dmaIova already reach every attachment, so the
 * sequential generators and the exhaustive explorer leave it out by default.
 */
export const GROUP_ONLY_KINDS: ReadonlySet<CommandKind> = new Set<CommandKind>(['dmaPasid']);

export const COMMAND_KINDS: readonly CommandKind[] = [
  'bind', 'unbind', 'mmap', 'touch', 'munmap', 'mprotect', 'dma', 'exit', 'mmdrop', 'fork',
  'spawn', 'gracePeriod', 'prefetch', 'vmalloc', 'vfree', 'failNext', 'serviceFaults', 'prefetchKernel', 'unplug', 'prg',
  'attachPasid', 'detachPasid', 'iommuMap', 'iommuUnmap', 'dmaIova', 'migrate', 'replacePasid', 'failNth', 'dmaPasid',
  'stopMarker',
  'guestMap', 'guestUnmap', 'destroyHwpt',
];
