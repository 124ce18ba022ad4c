/**
 * The ops tables through which the core calls drivers, after include/linux/iommu.h (struct
 * iommu_ops, struct iommu_domain_ops) and include/linux/mmu_notifier.h (struct
 * mmu_notifier_ops), v6.17. The core never names a driver; drivers export frozen literals.
 * Every op is a generator (Co): a driver's op can stop at its locks and hardware stores, so a
 * concurrent task can run in the middle of an attach or an invalidation, as on real CPUs.
 *
 * Allowed errnos (iommu_domain_ops kernel-doc): EINVAL (soft: device and domain are
 * incompatible), ENOMEM, ENOSPC, EBUSY, ENODEV.
 */
import type { Errno, Result } from '../../shared/index.js';
import type { Co } from './sched.js';
import type { Device, IommuDomain, MmStruct, MmuNotifier } from './types.js';
import type { IommuPageResponse, IopfFault } from './iopf.js';

/** struct iommu_domain_ops (the members SVA uses). */
export interface IommuDomainOps {
  /**
   * Attach `domain` to (dev, pasid), replacing `old` (undefined on a fresh attach). The
   * blocked domain's set_dev_pasid is the detach path: it tears the PASID down. A driver
   * without PASID support leaves it out (NULL in C; the object is then cast): the core checks
   * at run time and PASID attach returns -EOPNOTSUPP.
   */
  set_dev_pasid(domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0>;
  /**
   * Attach `domain` to dev's RID (requests without PASID), `old` the group's domain until now
   * (v7.0's attach_dev argument). Absent (NULL in C): __iommu_attach_device answers -ENODEV.
   */
  attach_dev?(domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0>;
  /** Free the domain; SVA drivers defer the memory to the notifier's free_notifier. */
  free(domain: IommuDomain): Co;
  /** Paging domains: install one 4 KiB IOVA page (iova as a vpn) → frame. */
  map_pages?(domain: IommuDomain, iova: number, frame: number, write: boolean): Co<Errno | 0>;
  /** Paging domains: clear one IOVA page, recording it in the gather; returns the bytes unmapped. */
  unmap_pages?(domain: IommuDomain, iova: number, gather: IommuIotlbGather): Co<number>;
  /** Paging domains: flush what the gather collected (the driver's TLB sync). */
  iotlb_sync?(domain: IommuDomain, gather: IommuIotlbGather): Co;
  /**
   * Nested domains: IOMMU_HWPT_INVALIDATE's requests, passed through as the user wrote them
   * (array->entry_num is set to the requests processed). Absent: iommufd answers -EOPNOTSUPP.
   */
  cache_invalidate_user?(domain: IommuDomain, array: IommuUserDataArray): Co<Errno | 0>;
}

/**
 * include/uapi/linux/iommufd.h: struct iommu_hwpt_vtd_s1_invalidate, one request:
 * `npages` pages from `addr` (U64_MAX: everything), `flags` IOMMU_VTD_INV_FLAGS_LEAF.
 */
export interface IommuHwptVtdS1Invalidate {
  readonly addr: bigint;
  readonly npages: bigint;
  readonly flags: number;
}

/** include/linux/iommu.h: struct iommu_user_data_array, reduced to the VT-d stage-1 form. */
export interface IommuUserDataArray {
  readonly type: 'IOMMU_HWPT_INVALIDATE_DATA_VTD_S1';
  readonly entries: readonly IommuHwptVtdS1Invalidate[];
  entry_num: number;
}

/** include/uapi/linux/iommufd.h: IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed. */
export const IOMMU_VTD_INV_FLAGS_LEAF = 1;

/**
 * include/uapi/linux/iommufd.h: struct iommu_hwpt_vtd_s1: the guest's stage-1 table, as a GPA
 * page number (pgtbl_addr >> 12), and its address width (48: 4 levels).
 */
export interface IommuHwptVtdS1 {
  readonly pgtbl_addr: number;
  readonly addr_width: 48 | 57;
  readonly flags: number;
}

/** include/linux/iommu.h: struct iommu_iotlb_gather: [start, end] inclusive byte addresses. */
export interface IommuIotlbGather {
  start: bigint;
  end: bigint;
  /** The granule of the gathered pages (iommu_iotlb_gather_add_page); 0 when none was added that way. */
  pgsize: bigint;
  /** Page-table pages the unmap freed, to go after the flush (the freelist). */
  readonly freelist: number[];
}

/** include/uapi/linux/iommufd.h: IOMMU_HWPT_ALLOC_NEST_PARENT. */
export const IOMMU_HWPT_ALLOC_NEST_PARENT = 1;

/** struct iommu_ops (the members SVA uses). */
export interface IommuOps {
  readonly name: string;
  /** Allocate an SVA domain for (dev, mm); registers the driver's mmu notifier. */
  domain_alloc_sva(dev: Device, mm: MmStruct): Co<Result<IommuDomain>>;
  /** The static blocking domain; `undefined` set_dev_pasid means PASID is unsupported. */
  readonly blocked_domain: IommuDomain;
  /** The static identity domain, the group's default domain (absent: the group starts with none). */
  readonly identity_domain?: IommuDomain;
  /**
   * Allocate a paging domain for dev (flags: IOMMU_HWPT_ALLOC_*); absent when the driver
   * offers none here (the core answers -EOPNOTSUPP).
   */
  domain_alloc_paging_flags?(dev: Device, flags: number): Co<Result<IommuDomain>>;
  /**
   * Allocate a nested domain over `parent` from the user's IOMMU_HWPT_DATA_* (here always
   * IOMMU_HWPT_DATA_VTD_S1); absent when the driver nests only under a vIOMMU or not at all
   * (iommufd_hwpt_nested_alloc answers -EOPNOTSUPP).
   */
  domain_alloc_nested?(dev: Device, parent: IommuDomain, flags: number, data: IommuHwptVtdS1): Co<Result<IommuDomain>>;
  /** Send a page response for `evt` to the hardware (absent: the driver cannot take IOPF). */
  page_response?(dev: Device, evt: IopfFault, msg: IommuPageResponse): Co;
}

/** struct mmu_notifier_ops (the members SVA drivers implement). */
export interface MmuNotifierOps {
  /** exit_mmap, before the page tables are freed: stop all access to the mm. */
  release(subscription: MmuNotifier, mm: MmStruct): Co;
  /** Secondary-TLB flush of [start, end): end exclusive; (0, ULONG_MAX) means everything. */
  arch_invalidate_secondary_tlbs(subscription: MmuNotifier, mm: MmStruct, start: bigint, end: bigint): Co;
  /** After the SRCU grace period that follows the last mmu_notifier_put (optional: NULL in C). */
  free_notifier?(subscription: MmuNotifier): Co;
}
