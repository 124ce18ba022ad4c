/**
 * Per-IOMMU domain IDs of paging domains, after drivers/iommu/intel/iommu.c (v7.0-rc5):
 * domain_attach_iommu / domain_detach_iommu. A paging domain gets one DID on each IOMMU it is
 * attached through, held by a reference per attachment; the DID goes back to the IOMMU's ida
 * with the last one. SVA domains take none (they all use FLPT_DEFAULT_DID).
 */
import type { Errno } from '../../shared/index.js';
import { ida_alloc_range } from '../core/pasid.js';
import { type DmarDomain, type IntelIommu, WARN_ON } from './dmar.js';

/** IDA_START_DID: DID 0 is reserved (caching mode) and 1 is FLPT_DEFAULT_DID. */
export const IDA_START_DID = 2;

/** iommu.c: domain_attach_iommu. -ENOSPC when the unit's DIDs are exhausted. */
export function domain_attach_iommu(domain: DmarDomain, iommu: IntelIommu): Errno | 0 {
  const array = domain.iommu_array;
  if (array === undefined) return 0; // SVA
  const curr = array.get(iommu);
  if (curr !== undefined) {
    curr.refcnt++;
    return 0;
  }
  const num = ida_alloc_range(iommu.domain_ida, IDA_START_DID, 2 ** iommu.unit.didBits - 1);
  if (num < 0) return 'ENOSPC';
  array.set(iommu, { refcnt: 1, did: num });
  return 0;
}

/** iommu.c: domain_detach_iommu: the last reference frees the DID. */
export function domain_detach_iommu(domain: DmarDomain, iommu: IntelIommu): void {
  const array = domain.iommu_array;
  if (array === undefined) return;
  const info = array.get(iommu);
  if (WARN_ON(iommu, info === undefined, `domain_detach_iommu: domain ${domain.domain.id} not on ${iommu.name}`)) return;
  if (--info!.refcnt > 0) return;
  iommu.domain_ida.delete(info!.did);
  array.delete(iommu);
}
