/**
 * The kernel objects the SVA core and the drivers share, after include/linux/iommu.h,
 * include/linux/mm_types.h and include/linux/mmu_notifier.h (v6.17). Driver-private state
 * lives in the driver's own objects, reached through `container` (the kernel's container_of).
 * Freed objects are kept as tombstones (`freed = true`) so a use-after-free is observable.
 */
import type { Errno, FailSite, FaultId, FindingName, Platform, Prot, Topology, TraceSink } from '../../shared/index.js';
import type { PhysMem } from '../../hw/mem.js';
import type { PciDevice } from '../../hw/device.js';
import type { IommuUnit } from '../../hw/iommu.js';
import type { CpuPageTable } from '../../hw/pagetable.js';
import type { IommuDomainOps, IommuOps, MmuNotifierOps } from './ops.js';
import type { IopfGroup } from './iopf.js';
import type { RwSem, Spinlock } from './locking.js';
import type { Co } from './sched.js';

/**
 * A VMA of an anonymous private mapping, in harness page units [first, first + count).
 * 'none' appears only after mprotect(PROT_NONE) (mmap takes 'r' | 'rw').
 */
export interface Vma {
  first: number;
  count: number;
  prot: Prot;
  /**
   * vma->anon_vma is set: anon_vma_prepare ran at the VMA's first fault (or anon_vma_fork
   * gave the child's copy one). fork copies the page tables of such VMAs only (vma_needs_copy).
   */
  anon_vma: boolean;
}

/**
 * The kernel's globals for one world: memory, the SRCU callback queue, fault injection and the
 * trace sink. Kept per world (never module-level) so runs in one process cannot interfere.
 */
export interface Kernel {
  readonly mem: PhysMem;
  readonly topology: Topology;
  readonly trace: TraceSink | undefined;
  /**
   * call_srcu: callbacks queued here run, in order, when the next grace period elapses. A
   * callback is a generator: free_notifier is an ops call (ops.ts), which may yield.
   */
  readonly srcuCallbacks: (() => Co)[];
  /** Fault injection (iommufd_fail_nth style): true once for an armed site, which disarms it. */
  shouldFail(site: FailSite): boolean;
  /** Next object id of a kind (domains, handles), in allocation order: stable names for traces. */
  nextId(kind: 'domain' | 'handle'): number;
  /**
   * The historical bug this world runs with (src/shared/fault.ts), or undefined for the
   * correct kernel. Read only at the place in the ported code where the old logic lived.
   */
  readonly fault: FaultId | undefined;
  /**
   * The proposed fixes of known upstream findings switched on (src/shared/finding.ts); read
   * only at the finding's place in the ported code.
   */
  readonly fixes: ReadonlySet<FindingName>;
  /** Known findings whose buggy path ran in the current step (noteFinding); the step clears it. */
  readonly findingHits: FindingName[];
}

/** include/linux/mm_types.h: struct mm_struct (the parts SVA touches). */
export interface MmStruct {
  /** The world's kernel services (the kernel's globals). */
  readonly kernel: Kernel;
  /** The harness's mm slot. */
  readonly slot: number;
  /** Which process incarnation of the slot this is (1, 2, ...), for traces. */
  readonly gen: number;
  mm_users: number;
  mm_count: number;
  readonly pgd: CpuPageTable;
  /**
   * mm->mmap_lock (include/linux/mmap_lock.h): written by munmap, mprotect, mmap, fork and
   * mmu_notifier_register; read by the page fault, iommu_sva_handle_mm and exit_mmap's unmap.
   */
  readonly mmap_lock: RwSem;
  /**
   * The page-table lock of the mm's user PTEs. The kernel splits it per page-table page
   * (USE_SPLIT_PTE_PTLOCKS, pte_lockptr); one per mm (mm->page_table_lock, the unsplit
   * configuration's) serializes the same faults and more: only the fault path takes it here.
   */
  readonly page_table_lock: Spinlock;
  /** Sorted by `first`, non-overlapping. */
  vmas: Vma[];
  /** mm->iommu_mm: NULL until the first SVA bind; set to NULL by mm_pasid_init in dup_mm. */
  iommu_mm: IommuMmData | undefined;
  /** mm->notifier_subscriptions->list: newest first (hlist_add_head_rcu), hooked ones only. */
  notifiers: MmuNotifier[];
  /** exit_mmap has run (mm_users reached 0). */
  exited: boolean;
  /** __mmdrop has run: a tombstone. */
  freed: boolean;
}

/** include/linux/iommu.h: struct iommu_mm_data. Freed (kfree) only by mm_pasid_drop. */
export interface IommuMmData {
  readonly pasid: number;
  readonly mm: MmStruct;
  /** SVA domains of this mm, newest first (list_add). */
  sva_domains: IommuDomain[];
  freed: boolean;
}

/** include/linux/mmu_notifier.h: struct mmu_notifier, embedded in a driver's SVA domain. */
export interface MmuNotifier {
  readonly ops: MmuNotifierOps;
  readonly mm: MmStruct;
  /** The driver object it is embedded in (container_of). */
  readonly container: unknown;
  /** mmu_notifier_get/put reference count. */
  users: number;
  /** On mm->notifier_subscriptions: invalidations and release reach it. */
  hooked: boolean;
  /** free_notifier has run (after the SRCU grace period): a tombstone. */
  freed: boolean;
}

/**
 * IOMMU_DOMAIN_SVA, IOMMU_DOMAIN_BLOCKED, IOMMU_DOMAIN_IDENTITY, IOMMU_DOMAIN_UNMANAGED (an
 * iommufd paging domain), IOMMU_DOMAIN_NESTED (an iommufd nested domain over a nest parent).
 */
export type DomainType = 'SVA' | 'BLOCKED' | 'IDENTITY' | 'PAGING' | 'NESTED';

/** include/linux/iommu.h: struct iommu_domain. Drivers keep theirs in `container`. */
export interface IommuDomain {
  /** Allocation order, for traces. */
  readonly id: number;
  readonly type: DomainType;
  readonly ops: IommuDomainOps;
  /** domain->owner: the iommu_ops that allocated it (iommufd sets it for a nested domain). */
  readonly owner: IommuOps;
  /** domain->mm for SVA domains (mmgrab'd at alloc). */
  mm: MmStruct | undefined;
  /** The world's kernel for a domain without an mm (paging domains): where its WARNs go. */
  readonly kernel?: Kernel;
  /** domain->users: attachments through the SVA core. */
  users: number;
  /** domain->iopf_handler: set by the core for SVA domains (iommu_sva_iopf_handler). */
  iopf_handler?: (group: IopfGroup) => Errno | 0;
  /** The driver's domain object (dmar_domain, arm_smmu_domain). */
  container: unknown;
  freed: boolean;
}

/** include/linux/iommu.h: struct iommu_attach_handle + struct iommu_sva. */
export interface IommuSva {
  readonly id: number;
  /** handle->handle.domain: set by iommu_attach_device_pasid (iommu_make_pasid_array_entry). */
  domain: IommuDomain;
  dev: Device | undefined;
  /** refcount_t users: binds of the same (dev, mm) share this handle. */
  users: number;
  freed: boolean;
  /** Which path's kfree freed it (no kernel counterpart: KASAN's "freed by task" stack). */
  freedBy?: 'iommu_sva_bind_device' | 'iommu_sva_unbind_device';
}

/** group->pasid_array entry: XA_ZERO_ENTRY reservation, or a tagged handle/domain pointer. */
export type PasidArrayEntry =
  | { readonly kind: 'reserved' }
  | { readonly kind: 'handle'; readonly handle: IommuSva }
  | { readonly kind: 'domain'; readonly domain: IommuDomain };

/** drivers/iommu/iommu.c: struct iommu_group. */
export interface IommuGroup {
  readonly id: number;
  readonly devices: Device[];
  /** xarray indexed by PASID; Map insertion order is deterministic. */
  readonly pasid_array: Map<number, PasidArrayEntry>;
  /** group->domain: the domain the RID traffic of every device of the group is attached to. */
  domain: IommuDomain | undefined;
  /** group->default_domain: the kernel's DMA domain (the driver's identity domain here). */
  default_domain: IommuDomain | undefined;
  /** group->blocking_domain, set when DMA ownership is first taken. */
  blocking_domain: IommuDomain | undefined;
  /** group->owner_cnt: iommufd's claims of DMA ownership (one owner, the harness's VMM). */
  owner_cnt: number;
}

/** include/linux/iommu.h: struct iommu_device, extended by each driver (intel_iommu, arm_smmu_device). */
export interface IommuDevice {
  /** Index in the topology's IOMMU list. */
  readonly index: number;
  readonly ops: IommuOps;
  /** iommu->max_pasids: VT-d 2 << ecap_pss, SMMUv3 1 << ssid_bits. */
  readonly max_pasids: number;
  /** The emulated hardware unit this driver instance programs. */
  readonly unit: IommuUnit;
  /** The kernel the instance was probed into (where a group's WARNs and locks live). */
  readonly kernel: Kernel;
}

/** struct device with dev->iommu (struct dev_iommu). */
export interface Device {
  readonly id: number;
  readonly hw: PciDevice;
  /** dev->iommu->iommu_dev. */
  readonly iommu: IommuDevice;
  /** dev->iommu_group. */
  readonly group: IommuGroup;
  /** dev->iommu->max_pasids = min(PCI PASID width, iommu->max_pasids); 0 = no PASID. */
  readonly max_pasids: number;
  /** The driver's per-device data (device_domain_info, arm_smmu_master). */
  priv: unknown;
}

/** A platform: how to probe its IOMMUs and devices. The world builder knows only this. */
export interface IommuDriver {
  readonly platform: Platform;
  /** Probe IOMMU instance `index` (creates the emulated unit and the driver's iommu_device). */
  probeIommu(ctx: ProbeContext, index: number): IommuDevice;
  /** probe_device: set up the driver's per-device state (PASID table, CD table, STE). */
  probeDevice(ctx: ProbeContext, dev: Device): void;
  /**
   * Leak check hook (no kernel counterpart): describe driver state that no live (not freed)
   * SVA domain accounts for: cache tags, master_domains, ASIDs, nr_ats_masters, PASID table
   * entries or CDs still valid. Empty when consistent. Used by src/impl/quiesce.ts.
   */
  leakCheck?(iommus: readonly IommuDevice[], devices: readonly Device[]): string[];
}

/** What probing may use: the kernel services of the world being built. */
export type ProbeContext = Kernel;
