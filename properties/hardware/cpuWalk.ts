/**
 * The reference side of the cache comparisons: what the CPU page tables say now, read the way
 * software reads them (never through a cache), and which mm owns a PASID. Allocation-free.
 */
import { PTE_P, PTE_U, PTE_W, makePte, pteFrame } from '../../src/hw/mem.js';
import { type Radix, levelSpan, tableOnPath } from '../../src/hw/radix.js';
import { NESTED_HWPT, NEST_PARENT_HWPT } from '../../src/shared/index.js';
import type { HwptSlot } from '../../src/impl/world.js';
import type { PhysMem } from '../../src/hw/mem.js';
import type { Sink } from './platform.js';
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

/** What an IOVA page translates to now, as a PTE (host frame, P, W): a HWPT's table read by software. */
export interface IoTable {
  lookup(vpn: number): number;
}

/**
 * The nested HWPT's reference: the composition of the guest's stage-1 leaf (GPA page) and the
 * parent's leaf for that GPA page, writable only if both are (VT-d spec 3.8). One per world.
 */
class NestedTable implements IoTable {
  constructor(private readonly world: World) {}

  lookup(vpn: number): number {
    const guest = this.world.hwpts[NESTED_HWPT]!.guest;
    const parent = this.world.hwpts[NEST_PARENT_HWPT]!.domain;
    const s2 = parent === undefined ? undefined : pagingRadix(parent);
    const s1 = guest?.lookup(vpn) ?? 0;
    if (s2 === undefined || (s1 & PTE_P) === 0) return 0;
    const leaf = s2.lookup(pteFrame(s1));
    if ((leaf & PTE_P) === 0) return 0;
    return makePte(pteFrame(leaf), PTE_P | PTE_U | (s1 & leaf & PTE_W));
  }
}
const nestedTables = new WeakMap<World, NestedTable>();

const ioTableOf = (world: World, h: HwptSlot): IoTable | undefined => {
  if (h.domain === undefined) return undefined;
  if (h.domain.type !== 'NESTED') return pagingRadix(h.domain);
  let t = nestedTables.get(world);
  if (t === undefined) nestedTables.set(world, (t = new NestedTable(world)));
  return t;
};

/**
 * The table behind an iommufd HWPT (a paging domain's own, or a nested one's composition): the
 * live HWPT whose domain is attached at (group of dev, pasid), or for an IOTLB tag, attached
 * anywhere at pasid with DID `did` on `iommu` (undefined when none: the tag is orphaned).
 */
export function pagingTableAt(world: World, group: IommuGroup, pasid: number): IoTable | undefined {
  for (const h of world.hwpts) {
    if (h.domain !== undefined && h.pasid.get(group) === pasid) return ioTableOf(world, h);
  }
  return undefined;
}

export function pagingTableOfTag(world: World, iommu: IommuDevice, did: number, pasid: number | undefined): IoTable | undefined {
  for (const h of world.hwpts) {
    const d = h.domain;
    if (d === undefined || to_dmar_domain(d).iommu_array?.get(iommu as IntelIommu)?.did !== did) continue;
    if (pasid === undefined) return ioTableOf(world, h);
    for (const p of h.pasid.values()) if (p === pasid) return ioTableOf(world, h);
  }
  return undefined;
}

/** The domain's page table: VT-d's dmar_domain pgtable or SMMUv3's io-pgtable (by the driver that owns it). */
export const pagingRadix = (d: IommuDomain): Radix | undefined =>
  d.container instanceof ArmSmmuDomain ? to_smmu_domain(d).pgtbl?.radix : to_dmar_domain(d).pgtable?.radix;

/** leafIsStale against a paging domain's table (the present bit is read permission). */
export function ioLeafIsStale(pt: IoTable, vpn: number, frame: number, write: boolean): boolean {
  const pte = pt.lookup(vpn);
  if ((pte & PTE_P) === 0 || pteFrame(pte) !== frame) return true;
  return write && (pte & PTE_W) === 0;
}

/**
 * Every cached leaf of `entries` (vpn → frame, write) that `pt` no longer gives: one violation
 * each, named `what` (the cache and its tag; built only for a violation, this runs every step)
 * and `against` (the table it disagrees with).
 */
export function reportStaleIoLeaves(
  pt: IoTable, entries: ReadonlyMap<number, { readonly frame: number; readonly write: boolean }>,
  objects: Readonly<Record<string, number>>, what: () => string, against: string, out: Sink,
): void {
  for (const [vpn, t] of entries) {
    if (!ioLeafIsStale(pt, vpn, t.frame, t.write)) continue;
    out.add({ ...objects, vpn, frame: t.frame }, `${what()} IOVA 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' ro'} disagrees with ${against}`);
  }
}

/** pointerIsStale against a paging domain's table. */
export const ioPointerIsStale = (mem: PhysMem, pt: Radix, level: number, prefix: number, frame: number): boolean =>
  tableOnPath(mem, pt.root, pt.rootLevel, prefixVpn(level, prefix), level) !== frame;
