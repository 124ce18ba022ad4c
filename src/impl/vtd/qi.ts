/**
 * Queued invalidation, after drivers/iommu/intel/dmar.c (qi_submit_sync, qi_check_fault,
 * qi_flush_*) and the descriptor builders of iommu.h (qi_desc_*), v6.17. Descriptors are the
 * hardware's tagged union (src/hw/vtd/descriptor.ts); addresses arrive here as u64 bigints.
 */
import type { QiDesc } from '../../hw/vtd/descriptor.js';
import { type IntelIommu, WARN_ON } from './dmar.js';

export const VTD_PAGE_SHIFT = 12n;
export const U64 = (1n << 64n) - 1n;
/** npages == -1 (as unsigned long) asks for a PASID-selective invalidation. */
export const NPAGES_ALL = -1n;

/** include/linux/log2.h: __roundup_pow_of_two on u64 (0 rounds to 1, as x86's masked shift does). */
export const roundup_pow_of_two = (n: bigint): bigint => {
  let p = 1n;
  while (p < n && p < 1n << 63n) p <<= 1n;
  return p;
};
export const ilog2 = (n: bigint): number => n.toString(2).length - 1;

/** iommu.h: qi_desc_piotlb. A misaligned address is a driver bug (WARN_ON_ONCE) and is aligned down. */
export function qi_desc_piotlb(iommu: IntelIommu, did: number, pasid: number, addr: bigint, npages: bigint, ih: boolean): QiDesc {
  if (npages === NPAGES_ALL) return { kind: 'piotlb', granularity: 'pasid', did, pasid };
  const mask = ilog2(roundup_pow_of_two(npages));
  const align = 1n << (VTD_PAGE_SHIFT + BigInt(mask));
  if (WARN_ON(iommu, addr % align !== 0n, `qi_desc_piotlb: addr ${addr.toString(16)} not aligned to order ${mask}`)) {
    addr -= addr % align;
  }
  return { kind: 'piotlb', granularity: 'page', did, pasid, addr: Number(addr >> VTD_PAGE_SHIFT), am: mask, ih };
}

/**
 * iommu.h: qi_desc_dev_iotlb_pasid. With S=1 the size is encoded in the address's low bits,
 * so the range the device decodes is the naturally aligned block containing `addr` (the
 * kernel only pr_warns about a misaligned address).
 */
export function qi_desc_dev_iotlb_pasid(sid: number, pasid: number, addr: bigint, size_order: number): QiDesc {
  const block = 1n << (VTD_PAGE_SHIFT + BigInt(size_order));
  const base = addr - (addr % block);
  return { kind: 'devtlb', sid, pasid, global: false, addr: Number(base >> VTD_PAGE_SHIFT), sizeOrder: size_order };
}

/**
 * iommu.h: qi_desc_dev_iotlb, the device-TLB invalidation without PASID: it reaches only the
 * translations the device cached for requests without PASID (IOMMU_NO_PASID here).
 */
export function qi_desc_dev_iotlb(sid: number, addr: bigint, mask: number): QiDesc {
  const block = 1n << (VTD_PAGE_SHIFT + BigInt(mask));
  return { kind: 'devtlb', sid, pasid: 0, global: false, addr: Number((addr - (addr % block)) >> VTD_PAGE_SHIFT), sizeOrder: mask };
}

/** iommu.h: qi_desc_iotlb, second-stage (legacy) IOTLB invalidation: DSI or PSI. */
export function qi_desc_iotlb(did: number, addr: bigint, size_order: number, type: 'DSI' | 'PSI'): QiDesc {
  return type === 'DSI'
    ? { kind: 'iotlb_dsi', did }
    : { kind: 'iotlb_psi', did, addr: Number(addr >> VTD_PAGE_SHIFT), am: size_order };
}

/**
 * dmar.c: qi_submit_sync (v6.17). Queues the descriptors and a wait, and spins until the wait
 * completes. On an invalidation time-out (ITE) qi_check_fault clears ITE; since the device that
 * timed out is not present, it gives up with -ETIMEDOUT instead of resubmitting (a retry could
 * never complete). Returns false then; callers ignore it, as the kernel's do.
 */
export function qi_submit_sync(iommu: IntelIommu, descs: readonly QiDesc[], options: { drain?: boolean } = {}): boolean {
  const unit = iommu.unit;
  for (const d of descs) unit.submit(d);
  unit.submit({ kind: 'wait', fence: false, drain: options.drain === true });
  if (!unit.ite) return true;
  unit.clearIte();
  iommu.qi_timeouts++;
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, 'qi_submit_sync: ITE, -ETIMEDOUT');
  return false;
}

/** dmar.c: qi_flush_pasid_cache, PASID-selective-within-domain. */
export function qi_flush_pasid_cache(iommu: IntelIommu, did: number, pasid: number): void {
  qi_submit_sync(iommu, [{ kind: 'pc', granularity: 'pasid', did, pasid }]);
}

/** dmar.c: qi_flush_piotlb. */
export function qi_flush_piotlb(iommu: IntelIommu, did: number, pasid: number, addr: bigint, npages: bigint, ih: boolean): void {
  qi_submit_sync(iommu, [qi_desc_piotlb(iommu, did, pasid, addr, npages, ih)]);
}

/** dmar.c: qi_flush_iotlb (iommu->flush.flush_iotlb with queued invalidation). */
export function qi_flush_iotlb(iommu: IntelIommu, did: number, addr: bigint, size_order: number, type: 'DSI' | 'PSI'): void {
  qi_submit_sync(iommu, [qi_desc_iotlb(did, addr, size_order, type)]);
}

/** dmar.c: qi_flush_dev_iotlb_pasid. Not sent while translation is disabled (VT-d spec 4.3). */
export function qi_flush_dev_iotlb_pasid(iommu: IntelIommu, sid: number, pasid: number, addr: bigint, size_order: number): void {
  if (!iommu.translation_enabled) return;
  qi_submit_sync(iommu, [qi_desc_dev_iotlb_pasid(sid, pasid, addr, size_order)]);
}
