/**
 * The global PASID space (drivers/iommu/iommu.c, v6.17): one IDA shared by every device, so an
 * mm keeps a single PASID whichever devices it binds. An mm's PASID is freed only by
 * mm_pasid_drop at __mmdrop (B01, B02).
 */
import { coreOf } from './kernel.js';
import type { Device, Kernel, MmStruct } from './types.js';

/** IOMMU_PASID_INVALID ((ioasid_t)-1). */
export const IOMMU_PASID_INVALID = -1;
/** IOMMU_FIRST_GLOBAL_PASID: PASID 0 is IOMMU_NO_PASID (RID traffic). */
export const IOMMU_FIRST_GLOBAL_PASID = 1;

/**
 * drivers/iommu/iommu.c: iommu_alloc_global_pasid (v6.17): ida_alloc_range over
 * [1, dev max_pasids − 1], the smallest free id; invalid when the device has no PASID support
 * or the range is full.
 */
export function iommu_alloc_global_pasid(kernel: Kernel, dev: Device): number {
  if (dev.max_pasids === 0) return IOMMU_PASID_INVALID;
  const ida = coreOf(kernel).pasidIda;
  for (let id = IOMMU_FIRST_GLOBAL_PASID; id <= dev.max_pasids - 1; id++) {
    if (!ida.has(id)) {
      ida.add(id);
      return id;
    }
  }
  return IOMMU_PASID_INVALID;
}

/** drivers/iommu/iommu.c: iommu_free_global_pasid (v6.17). */
export function iommu_free_global_pasid(kernel: Kernel, pasid: number): void {
  const ida = coreOf(kernel).pasidIda;
  if (!ida.delete(pasid)) throw new Error(`ida_free of unallocated PASID ${pasid}`);
}

/** drivers/iommu/iommu-sva.c: mm_pasid_drop (v6.17): free the PASID and kfree the iommu_mm. */
export function mm_pasid_drop(mm: MmStruct): void {
  const iommu_mm = mm.iommu_mm;
  if (iommu_mm === undefined) return;
  iommu_free_global_pasid(mm.kernel, iommu_mm.pasid);
  iommu_mm.freed = true;
  mm.kernel.trace?.event('core', 'sva', `mm_pasid_drop mm${mm.slot}: PASID ${iommu_mm.pasid} freed`);
}
