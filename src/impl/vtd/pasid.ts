/**
 * PASID table and entry management, after drivers/iommu/intel/pasid.c (v6.17): the table's
 * allocation, first-level entry setup and replacement, and the teardown whose order the
 * invariants check: clear the entry → PASID cache → P_IOTLB (or DSI) → device TLB → PRQ drain.
 */
import { CLEAR_PASID_ENTRY, FPD_PASID_ENTRY, PasidTable, type PasidEntry } from '../../hw/vtd/pasidTable.js';
import type { Errno } from '../../shared/index.js';
import type { Device } from '../core/types.js';
import { type DeviceDomainInfo, type IntelIommu, IOMMU_NO_PASID, WARN_ON, dev_iommu_priv_get } from './dmar.js';
import { intel_iommu_drain_pasid_prq } from './prq.js';
import { NPAGES_ALL, qi_flush_dev_iotlb_pasid, qi_flush_iotlb, qi_flush_pasid_cache, qi_flush_piotlb } from './qi.js';

/** PASID_MAX: the system-wide PASID space (intel_pasid_max_id). */
export const PASID_MAX = 0x100000;
/** PASID_FLAG_FL5LP: walk the first level with 5 levels. */
export const PASID_FLAG_FL5LP = 1;

/**
 * pasid.c: intel_pasid_alloc_table. The directory is sized from the device's PCI PASID width
 * (not the IOMMU's): at least one 4 KiB page of 8-byte directory entries, 512 × 64 PASIDs.
 */
export function intel_pasid_alloc_table(info: DeviceDomainInfo, pciMaxPasids: number): void {
  const maxPasid = info.pasid_supported ? Math.min(pciMaxPasids, PASID_MAX) : 0;
  const size = maxPasid >> (6 - 3); // PASID_PDE_SHIFT - 3: bytes of directory
  const order = size > 4096 ? Math.ceil(Math.log2(size / 4096)) : 0; // get_order
  info.pasid_table = new PasidTable(2 ** (order + 12 + 3));
}

/**
 * pasid.c: intel_pasid_get_entry. Allocates the leaf on first use (never freed while the table
 * lives). A PASID beyond the table is a driver bug: WARN and no entry.
 */
function intel_pasid_get_entry(dev: Device, pasid: number): PasidTable | undefined {
  const info = dev_iommu_priv_get(dev);
  const table = info.pasid_table;
  if (WARN_ON(info.iommu, table === undefined || pasid >= table.maxPasid, `intel_pasid_get_entry: ${pasid}`)) return undefined;
  if (!table!.hasLeaf(pasid)) table!.allocLeaf(pasid);
  return table;
}

/** pasid.c: intel_pasid_clear_entry: keep FPD when the caller wants faults ignored. */
function intel_pasid_clear_entry(dev: Device, pasid: number, fault_ignore: boolean): void {
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) return;
  table.write(pasid, fault_ignore && table.read(pasid).present ? FPD_PASID_ENTRY : CLEAR_PASID_ENTRY);
}

/** pasid.c: devtlb_invalidation_with_pasid: skipped without ATS and for a gone device. */
function devtlb_invalidation_with_pasid(iommu: IntelIommu, dev: Device, pasid: number): void {
  const info = dev_iommu_priv_get(dev);
  if (!info.ats_enabled) return;
  // pci_dev_is_disconnected: an ATS invalidation to a surprise-removed device would time out.
  if (dev.hw.disconnected) {
    if (iommu.kernel.fault === 'B15') {
      // Before 4fc82cd907ac ("Don't issue ATS Invalidation request when device is
      // disconnected", 2024) there was no such check: the descriptor went out regardless.
    } else return;
  }
  // SVA never uses PASID 0 (RID2PASID): always the PASID form, whole address space (64 - 12).
  WARN_ON(iommu, pasid === IOMMU_NO_PASID, 'devtlb_invalidation_with_pasid: PASID 0');
  qi_flush_dev_iotlb_pasid(iommu, info.sid, pasid, 0n, 64 - 12);
}

/**
 * pasid.c: intel_pasid_tear_down_entry (v6.17). An entry release left non-present with FPD
 * is simply cleared (plus a PRQ drain); a present one is cleared (keeping FPD if asked), then
 * the PASID cache, the IOTLB (P_IOTLB for first-level and pass-through, DSI for second-level
 * and nested), the device TLB and, unless faults are ignored, the PRQ are flushed, in that order.
 */
export function intel_pasid_tear_down_entry(iommu: IntelIommu, dev: Device, pasid: number, fault_ignore: boolean): void {
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) return;
  const pte = table.read(pasid);
  if (!pte.present) {
    if (!pte.fpd) {
      WARN_ON(iommu, pte !== CLEAR_PASID_ENTRY, `tear_down: PASID ${pasid} entry not clear`);
      return;
    }
    table.write(pasid, CLEAR_PASID_ENTRY);
    intel_iommu_drain_pasid_prq(dev, pasid);
    return;
  }
  const { did, pgtt } = pte;
  intel_pasid_clear_entry(dev, pasid, fault_ignore);
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `pasid tear down ${dev.hw.name} pasid=${pasid}`);
  qi_flush_pasid_cache(iommu, did, pasid);
  if (iommu.kernel.fault === 'B06') {
    // Before 8798d3641119 (v5.14-rc6): always the PASID-based IOTLB flush, which does not
    // reach the DID-tagged entries of a second-level or nested entry. Unreachable here: SVA
    // programs only first-level entries (see test/faults/B06.test.ts).
    qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
  } else if (pgtt === 'PT' || pgtt === 'FL') qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
  else qi_flush_iotlb(iommu, did, 0n, 0, 'DSI');
  devtlb_invalidation_with_pasid(iommu, dev, pasid);
  if (!fault_ignore) intel_iommu_drain_pasid_prq(dev, pasid);
}

/** pasid.c: pasid_pte_config_first_level. */
const pasid_pte_config_first_level = (fsptptr: number, did: number, flags: number): PasidEntry => ({
  present: true, fpd: false, pgtt: 'FL', flptr: fsptptr, did, levels: (flags & PASID_FLAG_FL5LP) !== 0 ? 5 : 4,
});

/** pasid.c: pasid_flush_caches: with CM=0 a new entry needs only a write-buffer flush (none here). */
function pasid_flush_caches(iommu: IntelIommu, pasid: number, did: number): void {
  if (!iommu.caching_mode) return;
  qi_flush_pasid_cache(iommu, did, pasid);
  qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
}

/** pasid.c: intel_pasid_setup_first_level. -EBUSY when the entry is already present. */
export function intel_pasid_setup_first_level(
  iommu: IntelIommu, dev: Device, fsptptr: number, pasid: number, did: number, flags: number,
): Errno | 0 {
  if (!iommu.flts) return 'EINVAL';
  if ((flags & PASID_FLAG_FL5LP) !== 0 && !iommu.fl5lp) return 'EINVAL';
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) return 'ENODEV';
  if (table.read(pasid).present) return 'EBUSY';
  table.write(pasid, pasid_pte_config_first_level(fsptptr, did, flags));
  pasid_flush_caches(iommu, pasid, did);
  return 0;
}

/** pasid.c: intel_pasid_flush_present (VT-d spec table 28 guidance for a changed entry). */
function intel_pasid_flush_present(iommu: IntelIommu, dev: Device, pasid: number, did: number): void {
  qi_flush_pasid_cache(iommu, did, pasid);
  qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
  devtlb_invalidation_with_pasid(iommu, dev, pasid);
}

/** pasid.c: intel_pasid_replace_first_level: swap a present entry in one write. */
export function intel_pasid_replace_first_level(
  iommu: IntelIommu, dev: Device, fsptptr: number, pasid: number, did: number, old_did: number, flags: number,
): Errno | 0 {
  if (!iommu.flts) return 'EINVAL';
  if ((flags & PASID_FLAG_FL5LP) !== 0 && !iommu.fl5lp) return 'EINVAL';
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) return 'ENODEV';
  const pte = table.read(pasid);
  if (!pte.present) return 'EINVAL';
  WARN_ON(iommu, old_did !== pte.did, 'replace_first_level: old DID mismatch');
  table.write(pasid, pasid_pte_config_first_level(fsptptr, did, flags));
  intel_pasid_flush_present(iommu, dev, pasid, old_did);
  intel_iommu_drain_pasid_prq(dev, pasid);
  return 0;
}

/**
 * iommu.c: __domain_setup_first_level (v6.17): a fresh attach sets the entry up, a
 * replacement swaps it (`oldDid` is iommu_domain_did(old): FLPT_DEFAULT_DID for SVA).
 */
export function __domain_setup_first_level(
  iommu: IntelIommu, dev: Device, pasid: number, did: number, fsptptr: number, flags: number, oldDid: number | undefined,
): Errno | 0 {
  if (oldDid === undefined) return intel_pasid_setup_first_level(iommu, dev, fsptptr, pasid, did, flags);
  return intel_pasid_replace_first_level(iommu, dev, fsptptr, pasid, did, oldDid, flags);
}
