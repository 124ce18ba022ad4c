/**
 * The core's paging-domain API as iommufd drives it (drivers/iommu/iommu.c, v7.0-rc5):
 * allocation through the driver's domain_alloc_paging_flags, and iommu_map / iommu_unmap with
 * the unmap's TLB gather flushed by the driver's iotlb_sync before the caller frees the pages.
 */
import type { Co } from './sched.js';
import { PAGE_SHIFT, err, type Errno, type Result } from '../../shared/index.js';
import type { IommuIotlbGather } from './ops.js';
import type { Device, IommuDomain } from './types.js';

/** drivers/iommu/iommu.c: iommu_paging_domain_alloc_flags (v7.0-rc5). */
export function* iommu_paging_domain_alloc_flags(dev: Device, flags: number): Co<Result<IommuDomain>> {
  const alloc = dev.iommu.ops.domain_alloc_paging_flags;
  if (alloc === undefined) return err('EOPNOTSUPP');
  return yield* alloc(dev, flags);
}

/** drivers/iommu/iommu.c: iommu_map (v7.0-rc5), one 4 KiB page at iova (a vpn). */
export function* iommu_map(domain: IommuDomain, iova: number, frame: number, write: boolean): Co<Errno | 0> {
  const map = domain.ops.map_pages;
  if (map === undefined || domain.type !== 'PAGING') return 'EINVAL';
  return yield* map(domain, iova, frame, write);
}

/** include/linux/iommu.h: iommu_iotlb_gather_init: an empty range (start = ULONG_MAX, end = 0). */
const iommu_iotlb_gather_init = (): IommuIotlbGather => ({ start: (1n << 64n) - 1n, end: 0n, pgsize: 0n, freelist: [] });

/** include/linux/iommu.h: iommu_iotlb_gather_add_range. */
export function iommu_iotlb_gather_add_range(gather: IommuIotlbGather, iova: number, size: bigint): void {
  const start = BigInt(iova) << BigInt(PAGE_SHIFT);
  const end = start + size - 1n;
  if (start < gather.start) gather.start = start;
  if (end > gather.end) gather.end = end;
}

/** include/linux/iommu.h: iommu_iotlb_gather_is_disjoint (byte addresses). */
const iommu_iotlb_gather_is_disjoint = (gather: IommuIotlbGather, start: bigint, size: bigint): boolean => {
  const end = start + size - 1n;
  return gather.end !== 0n && (end + 1n < gather.start || start > gather.end + 1n);
};

/**
 * include/linux/iommu.h: iommu_iotlb_gather_add_page (v7.0-rc5): a page disjoint from the
 * gathered range, or of another granule, first syncs what was gathered.
 */
export function* iommu_iotlb_gather_add_page(domain: IommuDomain, gather: IommuIotlbGather, iova: number, size: bigint): Co {
  const start = BigInt(iova) << BigInt(PAGE_SHIFT);
  if ((gather.pgsize !== 0n && gather.pgsize !== size) || iommu_iotlb_gather_is_disjoint(gather, start, size)) {
    yield* domain.ops.iotlb_sync!(domain, gather);
    Object.assign(gather, iommu_iotlb_gather_init());
  }
  gather.pgsize = size;
  iommu_iotlb_gather_add_range(gather, iova, size);
}

/**
 * drivers/iommu/iommu.c: iommu_unmap → __iommu_unmap (v7.0-rc5): unmap_pages into a gather,
 * then iommu_iotlb_sync. Returns the bytes unmapped (0: nothing was mapped there).
 */
export function* iommu_unmap(domain: IommuDomain, iova: number): Co<bigint> {
  const { unmap_pages, iotlb_sync } = domain.ops;
  if (unmap_pages === undefined || iotlb_sync === undefined) return 0n;
  const gather = iommu_iotlb_gather_init();
  const unmapped = yield* unmap_pages(domain, iova, gather);
  yield* iotlb_sync(domain, gather);
  return BigInt(unmapped);
}
