/**
 * The global PASID space (drivers/iommu/iommu.c, v6.17): one IDA shared by every device, so an
 * mm keeps a single PASID whichever devices it binds. An mm's PASID is freed only by
 * mm_pasid_drop at __mmdrop (B01, B02). The older lifetimes the faults switch back to (B02, B04,
 * B09) keep their helpers here, each named for the kernel version it comes from.
 */
import { coreOf } from './kernel.js';
import type { Device, Kernel, MmStruct } from './types.js';

/** IOMMU_PASID_INVALID ((ioasid_t)-1). */
export const IOMMU_PASID_INVALID = -1;
/** IOMMU_FIRST_GLOBAL_PASID: PASID 0 is IOMMU_NO_PASID (RID traffic). */
export const IOMMU_FIRST_GLOBAL_PASID = 1;

/** ENOSPC, as lib/idr.c returns it (negative): the only ida_alloc_range error modelled. */
const ENOSPC = 28;

/** lib/idr.c: ida_alloc_range: the smallest free id in [min, max], or -ENOSPC. */
export function ida_alloc_range(ida: Set<number>, min: number, max: number): number {
  for (let id = min; id <= max; id++) {
    if (!ida.has(id)) {
      ida.add(id);
      return id;
    }
  }
  return -ENOSPC;
}

/**
 * drivers/iommu/iommu.c: iommu_alloc_global_pasid (v6.17): ida_alloc_range over
 * [1, dev max_pasids − 1], the smallest free id; invalid when the device has no PASID support
 * or the range is full.
 */
export function iommu_alloc_global_pasid(kernel: Kernel, dev: Device): number {
  if (dev.max_pasids === 0) return IOMMU_PASID_INVALID;
  // ida_alloc_range's -ENOMEM: the IDA could not grow.
  if (kernel.shouldFail('ida_alloc_range@iommu_alloc_global_pasid')) return IOMMU_PASID_INVALID;
  const ret = ida_alloc_range(coreOf(kernel).pasidIda, IOMMU_FIRST_GLOBAL_PASID, dev.max_pasids - 1);
  return ret < 0 ? IOMMU_PASID_INVALID : ret;
}

/**
 * B09 only: drivers/iommu/iommu-sva.c: iommu_sva_alloc_pasid (v6.4 – v6.5-rc1), its allocation
 * step, before c20ecf7bb615 (v6.5-rc2): `ret = ida_alloc_range(&iommu_global_pasid_ida, min,
 * max, GFP_KERNEL); if (ret < min) goto out; mm->pasid = ret;`. `ret` is an int and `min` an
 * ioasid_t, so the comparison is unsigned: -ENOSPC becomes 0xffffffe4, is not below min, and is
 * stored as the mm's PASID. Returns that ioasid_t. A device without PASID support never got
 * here (v6.4's bind returned -EOPNOTSUPP for max_pasids == 0; today's core returns invalid).
 */
export function iommu_sva_alloc_pasid_v6_4(kernel: Kernel, dev: Device): number {
  if (dev.max_pasids === 0) return IOMMU_PASID_INVALID;
  const min = IOMMU_FIRST_GLOBAL_PASID;
  const ret = ida_alloc_range(coreOf(kernel).pasidIda, min, dev.max_pasids - 1);
  // (u32)ret < min: true only for 0, which the IDA never returns here; an errno passes.
  if (ret >>> 0 < min) return IOMMU_PASID_INVALID;
  return ret >>> 0;
}

/** drivers/iommu/iommu.c: iommu_free_global_pasid (v6.17). */
export function iommu_free_global_pasid(kernel: Kernel, pasid: number): void {
  const ida = coreOf(kernel).pasidIda;
  if (!ida.delete(pasid)) throw new Error(`ida_free of unallocated PASID ${pasid}`);
}

/**
 * B02/B04 only: drivers/iommu/iommu-sva-lib.c: iommu_sva_free_pasid (v5.11 – v5.17), the PASID
 * lifetime before 701fac40384f: each bind took a reference on mm->pasid (ioasid_get), each
 * unbind dropped one, and the last `ioasid_put` freed it and set mm->pasid = 0. Today the
 * mm's PASID is mm->iommu_mm (NULL is the kernel's "no PASID", what mm_pasid_init sets), and the
 * reference count is the mm's attachments, so this runs when the last one goes. The free reads
 * mm->pasid: once something cleared it, `ioasid_put(0)` finds nothing and frees nothing.
 */
export function iommu_sva_free_pasid(mm: MmStruct): void {
  const iommu_mm = mm.iommu_mm;
  if (iommu_mm === undefined) return; // ioasid_put(0): "Trying to free unknown IOASID"
  iommu_free_global_pasid(mm.kernel, iommu_mm.pasid);
  iommu_mm.freed = true;
  mm.iommu_mm = undefined; // mm->pasid = 0
  mm.kernel.trace?.event('core', 'sva', `iommu_sva_free_pasid mm${mm.slot}: PASID ${iommu_mm.pasid} freed`);
}

/** drivers/iommu/iommu-sva.c: mm_pasid_drop (v6.17): free the PASID and kfree the iommu_mm. */
export function mm_pasid_drop(mm: MmStruct): void {
  const iommu_mm = mm.iommu_mm;
  if (iommu_mm === undefined) return;
  iommu_free_global_pasid(mm.kernel, iommu_mm.pasid);
  iommu_mm.freed = true;
  mm.kernel.trace?.event('core', 'sva', `mm_pasid_drop mm${mm.slot}: PASID ${iommu_mm.pasid} freed`);
}
