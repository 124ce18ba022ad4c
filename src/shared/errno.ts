/**
 * The closed set of errnos an SVA operation may return. One line each says where the kernel
 * returns it; anything outside this set is a finding, not a result.
 */
export type Errno =
  /** No iommu group, or the device cannot do SVA (iommu_sva_bind_device, iommu_attach_device_pasid). */
  | 'ENODEV'
  /** Incompatible domain, PASID 0 or out of the device's range (iommu_attach_device_pasid, arm_smmu_set_pasid). */
  | 'EINVAL'
  /** An allocation failed (kzalloc, ida_alloc, a CD or PASID-table leaf). */
  | 'ENOMEM'
  /** The global PASID space is exhausted (iommu_alloc_global_pasid). */
  | 'ENOSPC'
  /** The PASID slot holds something else (xa_insert), the handle belongs to another mm, or the SMMU ASID space is full (xa_alloc). */
  | 'EBUSY'
  /** The mm's PASID is beyond this device's max_pasids (iommu_alloc_mm_data). */
  | 'EOVERFLOW'
  /** The driver has no set_dev_pasid, or the blocked domain cannot take a PASID. */
  | 'EOPNOTSUPP'
  /** A CPU access outside a VMA or against its protection, or a DMA that faulted. */
  | 'EFAULT';

export const ERRNOS: readonly Errno[] = [
  'ENODEV', 'EINVAL', 'ENOMEM', 'ENOSPC', 'EBUSY', 'EOVERFLOW', 'EOPNOTSUPP', 'EFAULT',
];

/** A kernel return value: a value or an errno, never an exception. */
export type Result<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errno: Errno };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const err = <T = never>(errno: Errno): Result<T> => ({ ok: false, errno });
