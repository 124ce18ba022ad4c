/**
 * The reference side of the cache comparisons: what the CPU page tables say now, read the way
 * software reads them (never through a cache), and which mm owns a PASID. Allocation-free.
 */
import { PTE_P, PTE_U, PTE_W, pteFrame } from '../../src/hw/mem.js';
import { type Radix, levelSpan, tableOnPath } from '../../src/hw/radix.js';
import type { PhysMem } from '../../src/hw/mem.js';
import type { MmStruct, World } from '../../src/impl/index.js';
import type { IommuDevice, IommuDomain, IommuGroup } from '../../src/impl/core/types.js';
import { type IntelIommu, to_dmar_domain } from '../../src/impl/vtd/dmar.js';
import { ArmSmmuDomain, to_smmu_domain } from '../../src/impl/smmuv3/structs.js';

/** The not-freed mm whose iommu_mm holds `pasid`, or undefined (the PASID is free or orphaned). */
export function mmOfPasid(world: World, pasid: number): MmStruct | undefined {
  const mms = world.mms;
  for (let i = 0; i < mms.length; i++) {
    const mm = mms[i];
    if (mm !== undefined && !mm.freed && mm.iommu_mm !== undefined && !mm.iommu_mm.freed && mm.iommu_mm.pasid === pasid) return mm;
  }
  return undefined;
}

/**
 * Whether a cached leaf (frame, write) is wider than the PTE for vpn: the PTE is gone, not a
 * user page, maps another frame, or is read-only where the cache allows writes. A narrower
 * entry (read-only cached, writable now) is allowed: hardware re-walks for the write.
 */
export function leafIsStale(mm: MmStruct, vpn: number, frame: number, write: boolean): boolean {
  const pte = mm.pgd.lookup(vpn);
  if ((pte & PTE_P) === 0 || (pte & PTE_U) === 0) return true;
  if (pteFrame(pte) !== frame) return true;
  return write && (pte & PTE_W) === 0;
}

/** First vpn a paging-structure / walk-cache entry of (level, prefix) covers. */
export const prefixVpn = (level: number, prefix: number): number => prefix * levelSpan(level + 1);

/** Whether a cached pointer to the level-`level` table for `prefix` differs from mm's tables now. */
export function pointerIsStale(mm: MmStruct, level: number, prefix: number, frame: number): boolean {
  const pgd = mm.pgd;
  return tableOnPath(mm.kernel.mem, pgd.root, pgd.levels, prefixVpn(level, prefix), level) !== frame;
}

/**
 * The page table behind an iommufd paging domain: the live HWPT whose domain is attached at
 * (group of dev, pasid), or for an IOTLB tag, attached anywhere at pasid with DID `did` on
 * `iommu` (undefined when none: the tag is orphaned).
 */
export function pagingTableAt(world: World, group: IommuGroup, pasid: number): Radix | undefined {
  for (const h of world.hwpts) {
    if (h.domain !== undefined && h.pasid.get(group) === pasid) return pagingRadix(h.domain);
  }
  return undefined;
}

export function pagingTableOfTag(world: World, iommu: IommuDevice, did: number, pasid: number | undefined): Radix | undefined {
  for (const h of world.hwpts) {
    const d = h.domain;
    if (d === undefined || to_dmar_domain(d).iommu_array?.get(iommu as IntelIommu)?.did !== did) continue;
    if (pasid === undefined) return pagingRadix(d);
    for (const p of h.pasid.values()) if (p === pasid) return pagingRadix(d);
  }
  return undefined;
}

/** The domain's page table: VT-d's dmar_domain pgtable or SMMUv3's io-pgtable (by the driver that owns it). */
export const pagingRadix = (d: IommuDomain): Radix | undefined =>
  d.container instanceof ArmSmmuDomain ? to_smmu_domain(d).pgtbl?.radix : to_dmar_domain(d).pgtable?.radix;

/** leafIsStale against a paging domain's table (the present bit is read permission). */
export function ioLeafIsStale(pt: Radix, vpn: number, frame: number, write: boolean): boolean {
  const pte = pt.lookup(vpn);
  if ((pte & PTE_P) === 0 || pteFrame(pte) !== frame) return true;
  return write && (pte & PTE_W) === 0;
}

/** pointerIsStale against a paging domain's table. */
export const ioPointerIsStale = (mem: PhysMem, pt: Radix, level: number, prefix: number, frame: number): boolean =>
  tableOnPath(mem, pt.root, pt.rootLevel, prefixVpn(level, prefix), level) !== frame;
