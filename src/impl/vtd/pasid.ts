/**
 * PASID table and entry management, after drivers/iommu/intel/pasid.c (v7.0, as of the tree in
 * docs/kernel-version.md): the table's allocation, first-level entry setup, and the teardown
 * whose order the invariants check: clear P → PASID cache → P_IOTLB (or DSI) → device TLB →
 * zero the entry → PRQ drain.
 */
import { CLEAR_PASID_ENTRY, FPD_PASID_ENTRY, PasidTable, type PasidEntry, type PasidWord } from '../../hw/vtd/pasidTable.js';
import { type Co, preemptPoint } from '../core/sched.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import type { Errno } from '../../shared/index.js';
import type { Device } from '../core/types.js';
import { type DeviceDomainInfo, type IntelIommu, IOMMU_NO_PASID, WARN_ON, dev_iommu_priv_get } from './dmar.js';
import { dev_fault_param, iopf_has_partial } from '../core/iopf.js';
import { noteFinding } from '../core/kernel.js';
import { intel_iommu_drain_pasid_prq, pci_device_is_present } from './prq.js';
import { NPAGES_ALL, qi_flush_dev_iotlb, qi_flush_dev_iotlb_pasid, qi_flush_iotlb, qi_flush_pasid_cache, qi_flush_piotlb } from './qi.js';

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
  if (!table!.hasLeaf(pasid)) {
    // iommu_alloc_pages_node_sz(GFP_ATOMIC): no leaf, no entry; the callers return -ENODEV.
    if (info.iommu.kernel.shouldFail('iommu_alloc_pages_node@intel_pasid_get_entry')) return undefined;
    table!.allocLeaf(pasid);
  }
  return table;
}

/** One preempt point per 64-bit store site: the IOMMU may fetch the entry between two stores. */
const STORE: Record<PasidWord, ReturnType<typeof preemptPoint>> = {
  0: preemptPoint('pasid entry pe->val[0] store'),
  1: preemptPoint('pasid entry pe->val[1] store'),
  2: preemptPoint('pasid entry pe->val[2] store'),
  P: preemptPoint('pasid entry P bit store'),
};

/** The stores of pasid_clear_entry(_with_fpd): WRITE_ONCE(pe->val[0..7]) in ascending order. */
const CLEAR_ORDER: readonly PasidWord[] = [0, 1, 2];
/**
 * pasid_pte_config_first_level: pasid_clear_entry, then pasid_set_flptr/flpm (val[2]),
 * pasid_set_domain_id (val[1]), pasid_set_address_width and pasid_set_translation_type
 * (val[0]), and pasid_set_present last.
 */
const FL_ORDER: readonly PasidWord[] = [2, 1, 0, 'P'];
/** pasid_pte_config_second_level: pasid_set_domain_id (val[1]), slptr/AW/PGTT (val[0]), P last. */
const SL_ORDER: readonly PasidWord[] = [1, 0, 'P'];
/**
 * `*pte = new_pte` (the in-place replace of B60/R05): a 64-byte struct copy. The kernel is built
 * without SSE, so it compiles to 64-bit moves (or rep movsq) in ascending order; the commit's
 * "128-bit chunks" are the IOMMU's fetches, which a 64-bit store boundary tears all the same.
 */
const COPY_ORDER: readonly PasidWord[] = [0, 1, 2];

/**
 * Write `next` as the C does, one 64-bit store at a time in `order`, with a preempt point
 * between stores so a concurrent fetch can see the half-written entry. A setup's 'P' store sets
 * only the P bit, after the other words; a word store before it keeps P as it is.
 */
function* pasid_store(table: PasidTable, pasid: number, next: PasidEntry, order: readonly PasidWord[], judge = true): Co {
  if (judge) table.noteWrite(pasid, next);
  const setsP = order[order.length - 1] === 'P';
  const staged = setsP ? { ...next, present: false } : next;
  for (let i = 0; i < order.length; i++) {
    if (i > 0) yield STORE[order[i]!];
    const w = order[i]!;
    table.storeWord(pasid, w, w === 'P' ? next : staged);
  }
}

/** pasid_clear_entry before a setup: only a non-clear entry needs its words zeroed. */
function* pasid_clear_for_setup(table: PasidTable, pasid: number): Co {
  if (table.read(pasid) !== CLEAR_PASID_ENTRY) yield* pasid_store(table, pasid, CLEAR_PASID_ENTRY, CLEAR_ORDER);
}

/** pasid.c: intel_pasid_clear_entry: keep FPD when the caller wants faults ignored and P is set. */
function* intel_pasid_clear_entry(dev: Device, pasid: number, fault_ignore: boolean): Co {
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) return;
  yield* pasid_store(table, pasid, fault_ignore && table.read(pasid).present ? FPD_PASID_ENTRY : CLEAR_PASID_ENTRY, CLEAR_ORDER);
}

/**
 * pasid.c: devtlb_invalidation_with_pasid (v7.0: 10e60d878139 "Flush dev-IOTLB only when PCIe
 * device is accessible in scalable mode"): skipped without ATS and for a device that is not
 * there. pci_device_is_present reads the config space, so it also sees a link that went down
 * without hotplug noticing (pci_dev_is_disconnected, the check 4fc82cd907ac added, did not);
 * here every removal is a pciehp one, which marks the device disconnected before its driver's
 * remove, so both checks agree.
 */
function* devtlb_invalidation_with_pasid(iommu: IntelIommu, dev: Device, pasid: number): Co {
  const info = dev_iommu_priv_get(dev);
  if (!info.ats_enabled) return;
  if (!pci_device_is_present(dev)) {
    if (iommu.kernel.fault === 'B15') {
      // Before 4fc82cd907ac ("Don't issue ATS Invalidation request when device is
      // disconnected", 2024) there was no such check: the descriptor went out regardless.
    } else return;
  }
  // The whole address space (64 - VTD_PAGE_SHIFT): without PASID for the RID's entry.
  if (pasid === IOMMU_NO_PASID) yield* qi_flush_dev_iotlb(iommu, info.sid, 0n, 64 - 12);
  else yield* qi_flush_dev_iotlb_pasid(iommu, info.sid, pasid, 0n, 64 - 12);
}

/**
 * pasid.c: intel_pasid_tear_down_entry (v7.0: 75ed00055c05 "Clear Present bit before tearing
 * down PASID entry"). An entry release left non-present with FPD is simply cleared (plus a PRQ
 * drain). A present one follows the VT-d spec's ownership handshake (6.5.3.3): clear only P,
 * then flush the PASID cache, the IOTLB (P_IOTLB for first-level and pass-through, DSI for
 * second-level and nested) and the device TLB, and only then zero the rest of the entry
 * (keeping FPD if asked; intel_pasid_clear_entry reads P, which is already clear: finding
 * vtd-release-fpd-lost) and, unless faults are ignored, drain the PRQ.
 */
export function* intel_pasid_tear_down_entry(iommu: IntelIommu, dev: Device, pasid: number, fault_ignore: boolean): Co {
  yield* spin_lock(iommu.lock);
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) {
    yield* spin_unlock(iommu.lock);
    return;
  }
  const pte = table.read(pasid);
  // B51: between c43e1ccdebf2 and cf08ca81d08a (v6.13-rc, Dec 2024) the release path kept FPD
  // (before 75ed00055c05) and drained the PRQ itself, and a non-present entry was returned from
  // at once: the unbind after an exit left the FPD entry in the table and drained nothing.
  const b51 = iommu.kernel.fault === 'B51';
  if (!pte.present) {
    if (b51) {
      yield* spin_unlock(iommu.lock);
      return;
    }
    if (!pte.fpd) {
      yield* spin_unlock(iommu.lock);
      // Since 75ed00055c05 a present entry's teardown clears P, unlocks, flushes and only then
      // zeroes the rest. The unbind's teardown and the mm release's (intel_mm_release, under
      // &domain->lock, which the unbind's blocking set_dev_pasid does not take) can run at once:
      // the second one meets the first's window, P clear with the fields still set, and WARNs
      // (finding vtd-teardown-race). Its proposed fix takes such an entry as being torn down by
      // someone else: no WARN, and the drain the caller asked for still happens.
      if (pte !== CLEAR_PASID_ENTRY) {
        if (iommu.kernel.fixes.has('vtd-teardown-race')) {
          if (!fault_ignore) yield* intel_iommu_drain_pasid_prq(dev, pasid);
          return;
        }
        noteFinding(iommu.kernel, 'vtd-teardown-race');
        WARN_ON(iommu, true, `tear_down: PASID ${pasid} entry not clear`);
      }
      // An attached PASID whose entry is clear was released without FPD: its PRQ is not
      // drained here any more (cf08ca81d08a's drain needs FPD; finding vtd-release-fpd-lost).
      // It matters when the skipped drain had work: requests in the PRQ or faults unanswered.
      // Only a caller that asked for the drain skips one: the mm release (fault_ignore) meeting
      // the entry an unbind already cleared asked for none.
      // A clear RID entry is a blocked RID, not a released PASID: nothing was skipped.
      if (fault_ignore || pasid === IOMMU_NO_PASID) return;
      if (dev_iommu_priv_get(dev).iopf_refcount > 0 && prq_work_pending(iommu)) noteFinding(iommu.kernel, 'vtd-release-fpd-lost');
      // Partial requests of the PASID outlive it here as they do after a drain (mainline keeps
      // them: iopf-stale-partial); with that finding's fix, the skipped drain skips its discard.
      if (iopf_has_partial(dev, pasid)) noteFinding(iommu.kernel, iommu.kernel.fixes.has('iopf-stale-partial') ? 'vtd-release-fpd-lost' : 'iopf-stale-partial');
      return;
    }
    yield* pasid_store(table, pasid, CLEAR_PASID_ENTRY, CLEAR_ORDER);
    yield* spin_unlock(iommu.lock);
    yield* intel_iommu_drain_pasid_prq(dev, pasid);
    return;
  }
  const { did, pgtt } = pte;
  // B18: before 75ed00055c05 the whole entry was zeroed here, while the hardware may still be
  // fetching it (several 64-bit stores to a present 512-bit entry: a torn read).
  const b18 = iommu.kernel.fault === 'B18';
  const fpdFix = iommu.kernel.fixes.has('vtd-release-fpd-lost') && !b51;
  if (b18) yield* intel_pasid_clear_entry(dev, pasid, fault_ignore);
  else pasid_clear_present(table, pasid, fault_ignore && fpdFix);
  yield* spin_unlock(iommu.lock);
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `pasid tear down ${dev.hw.name} pasid=${pasid}`);
  yield* qi_flush_pasid_cache(iommu, did, pasid);
  if (iommu.kernel.fault === 'B06') {
    // Before 8798d3641119 (v5.14-rc6): always the PASID-based IOTLB flush, which does not
    // reach the DID-tagged entries of a second-level or nested entry: a second-stage paging
    // domain's IOTLB entries outlive its PASID and its DID (test/faults/B06.test.ts).
    yield* qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
  } else if (pgtt === 'PT' || pgtt === 'FL') yield* qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
  else yield* qi_flush_iotlb(iommu, did, 0n, 0, 'DSI');
  yield* devtlb_invalidation_with_pasid(iommu, dev, pasid);
  if (!b18) {
    if (fault_ignore && b51) yield* pasid_store(table, pasid, FPD_PASID_ENTRY, CLEAR_ORDER);
    else if (fpdFix) yield* pasid_clear_entry_keep_fpd(iommu, table, pasid);
    else {
      if (fault_ignore) noteFinding(iommu.kernel, 'vtd-release-fpd-lost');
      yield* intel_pasid_clear_entry(dev, pasid, fault_ignore);
    }
  }
  if (!fault_ignore || b51) yield* intel_iommu_drain_pasid_prq(dev, pasid);
}

/** What intel_iommu_drain_pasid_prq would act on: the PRQ thread and the fault workqueue are per IOMMU. */
const prq_work_pending = (iommu: IntelIommu): boolean =>
  iommu.unit.prq.pending.length > 0 ||
  [...iommu.device_rbtree.values()].some((d) => (dev_fault_param(d)?.faults.length ?? 0) > 0);

/**
 * pasid.h: pasid_clear_present (75ed00055c05): only P goes; the hardware gives the entry up.
 * With the fix of vtd-release-fpd-lost on, a teardown that ignores faults sets FPD in the same
 * store (both bits are in val[0]), so the entry says "faults ignored" from the moment it stops
 * being present, as the pre-75ed00055c05 single clear did.
 */
function pasid_clear_present(table: PasidTable, pasid: number, fpd: boolean): void {
  // One store of val[0] (P and FPD both live there): the entry object changes once, so a fetch
  // sees it before or after, and no torn rewrite is possible (the write is judged here).
  const pte = table.read(pasid);
  table.write(pasid, { ...pte, present: false, fpd: pte.fpd || fpd }, true);
}

/**
 * The proposed fix of vtd-release-fpd-lost, its second half: the final zeroing keeps FPD only if
 * the entry still has it, read and written under iommu->lock. A teardown racing this one (the
 * unbind's, beside the mm release's) may have cleared the FPD entry meanwhile (its
 * non-present-with-FPD path, which also drains); writing the FPD form from fault_ignore alone
 * would bring it back on a PASID nobody attaches any more (the first form of this fix did:
 * I5, found by a grouped run with --fix all).
 */
function* pasid_clear_entry_keep_fpd(iommu: IntelIommu, table: PasidTable, pasid: number): Co {
  yield* spin_lock(iommu.lock);
  yield* pasid_store(table, pasid, table.read(pasid).fpd ? FPD_PASID_ENTRY : CLEAR_PASID_ENTRY, CLEAR_ORDER);
  yield* spin_unlock(iommu.lock);
}

/** pasid.c: pasid_pte_config_first_level. */
const pasid_pte_config_first_level = (fsptptr: number, did: number, flags: number): PasidEntry => ({
  present: true, fpd: false, pgtt: 'FL', flptr: fsptptr, slptr: 0, did, levels: (flags & PASID_FLAG_FL5LP) !== 0 ? 5 : 4,
});

/** pasid.c: pasid_flush_caches: with CM=0 a new entry needs only a write-buffer flush (none here). */
function* pasid_flush_caches(iommu: IntelIommu, pasid: number, did: number): Co {
  if (!iommu.caching_mode) return;
  yield* qi_flush_pasid_cache(iommu, did, pasid);
  yield* qi_flush_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false);
}

/** pasid.c: intel_pasid_setup_first_level. -EBUSY when the entry is already present. */
export function* intel_pasid_setup_first_level(
  iommu: IntelIommu, dev: Device, fsptptr: number, pasid: number, did: number, flags: number,
): Co<Errno | 0> {
  if (!iommu.flts) return 'EINVAL';
  if ((flags & PASID_FLAG_FL5LP) !== 0 && !iommu.fl5lp) return 'EINVAL';
  yield* spin_lock(iommu.lock);
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) {
    yield* spin_unlock(iommu.lock);
    return 'ENODEV';
  }
  if (table.read(pasid).present) {
    yield* spin_unlock(iommu.lock);
    return 'EBUSY';
  }
  yield* pasid_clear_for_setup(table, pasid);
  yield* pasid_store(table, pasid, pasid_pte_config_first_level(fsptptr, did, flags), FL_ORDER);
  yield* spin_unlock(iommu.lock);
  yield* pasid_flush_caches(iommu, pasid, did);
  return 0;
}

/**
 * Before c3b1edea3791 a replacement wrote the new entry over the present one: B60 is that code
 * caught by rule (I7 sees the live rewrite), R05 the same code caught only by what the device
 * sees when the IOMMU fetches the entry between two of the stores (a torn entry).
 */
const replacesInPlace = (iommu: IntelIommu): boolean => iommu.kernel.fault === 'B60' || iommu.kernel.fault === 'R05';

/**
 * iommu.c: __domain_setup_first_level (v7.0: c3b1edea3791 "Fix race condition during PASID
 * entry replacement"): a replacement tears the old entry down (clear P, flush, zero) and then
 * sets the new one up; the in-place intel_pasid_replace_first_level is gone (B60). SVA attaches
 * never replace (the core passes old = NULL); iommufd's replacePasid does.
 */
export function* __domain_setup_first_level(
  iommu: IntelIommu, dev: Device, pasid: number, did: number, fsptptr: number, flags: number, old: boolean,
): Co<Errno | 0> {
  if (old && replacesInPlace(iommu)) return yield* intel_pasid_replace_v6_x(iommu, dev, pasid, pasid_pte_config_first_level(fsptptr, did, flags));
  if (old) yield* intel_pasid_tear_down_entry(iommu, dev, pasid, false);
  return yield* intel_pasid_setup_first_level(iommu, dev, fsptptr, pasid, did, flags);
}

/** pasid.c: pasid_pte_config_second_level: SLPTPTR, the DID, PGTT = SL, AW from the domain's levels. */
const pasid_pte_config_second_level = (slptr: number, did: number, levels: 4 | 5): PasidEntry => ({
  present: true, fpd: false, pgtt: 'SL', flptr: 0, slptr, did, levels,
});

/** pasid.c: intel_pasid_setup_second_level (v7.0-rc5). -EINVAL without SLTS, -EBUSY when present. */
export function* intel_pasid_setup_second_level(
  iommu: IntelIommu, dev: Device, slptr: number, levels: 4 | 5, pasid: number, did: number,
): Co<Errno | 0> {
  if (!iommu.slts) return 'EINVAL';
  yield* spin_lock(iommu.lock);
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) {
    yield* spin_unlock(iommu.lock);
    return 'ENODEV';
  }
  if (table.read(pasid).present) {
    yield* spin_unlock(iommu.lock);
    return 'EBUSY';
  }
  yield* pasid_clear_for_setup(table, pasid);
  yield* pasid_store(table, pasid, pasid_pte_config_second_level(slptr, did, levels), SL_ORDER);
  yield* spin_unlock(iommu.lock);
  yield* pasid_flush_caches(iommu, pasid, did);
  return 0;
}

/**
 * iommu.c: domain_setup_second_level (v7.0-rc5, after c3b1edea3791): as for the first level,
 * a replacement tears the old entry down before the new one is written.
 */
export function* domain_setup_second_level(
  iommu: IntelIommu, dev: Device, pasid: number, did: number, slptr: number, levels: 4 | 5, old: boolean,
): Co<Errno | 0> {
  if (old && replacesInPlace(iommu)) return yield* intel_pasid_replace_v6_x(iommu, dev, pasid, pasid_pte_config_second_level(slptr, did, levels));
  if (old) yield* intel_pasid_tear_down_entry(iommu, dev, pasid, false);
  return yield* intel_pasid_setup_second_level(iommu, dev, slptr, levels, pasid, did);
}

/**
 * B60 only: pasid.c: intel_pasid_replace_first_level / intel_pasid_replace_second_level and
 * intel_pasid_flush_present (v6.13 to c3b1edea3791): the new entry is written over the present
 * one (*pte = new_pte, several stores the IOMMU may fetch between), then the flushes for the
 * old DID follow as for a present entry: PASID cache, always the PASID-based IOTLB (a
 * second-level old entry's DID-tagged translations are not reached), the device TLB, and the
 * PRQ drain.
 */
function* intel_pasid_replace_v6_x(iommu: IntelIommu, dev: Device, pasid: number, next: PasidEntry): Co<Errno | 0> {
  yield* spin_lock(iommu.lock);
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) {
    yield* spin_unlock(iommu.lock);
    return 'ENODEV';
  }
  const pte = table.read(pasid);
  if (!pte.present) {
    yield* spin_unlock(iommu.lock);
    return 'EINVAL';
  }
  const old_did = pte.did;
  // R05 leaves the rule check out: what it must be caught by is the torn fetch's effect.
  yield* pasid_store(table, pasid, next, COPY_ORDER, iommu.kernel.fault !== 'R05');
  yield* spin_unlock(iommu.lock);
  yield* qi_flush_pasid_cache(iommu, old_did, pasid);
  yield* qi_flush_piotlb(iommu, old_did, pasid, 0n, NPAGES_ALL, false);
  yield* devtlb_invalidation_with_pasid(iommu, dev, pasid);
  yield* intel_iommu_drain_pasid_prq(dev, pasid);
  return 0;
}

/**
 * pasid_pte_config_nestd's stores as words: pasid_set_flptr (val[2]), then pasid_set_slptr and
 * pasid_set_fault_enable (val[0]), pasid_set_domain_id (val[1]), pasid_set_address_width and
 * pasid_set_translation_type (val[0] again), pasid_set_present last.
 */
const NESTED_ORDER: readonly PasidWord[] = [2, 0, 1, 0, 'P'];

/**
 * pasid.c: pasid_pte_config_nestd (v7.0): FSPTPTR = the guest's stage-1 table (a GPA, taken
 * from the user as it is: every address it leads to goes through the second stage), SLPTPTR
 * and AW from the parent's table, the nested domain's DID, PGTT = nested.
 */
const pasid_pte_config_nestd = (pgtbl_addr: number, slptr: number, did: number, levels: 4 | 5): PasidEntry => ({
  present: true, fpd: false, pgtt: 'NESTED', flptr: pgtbl_addr, slptr, did, levels,
});

/**
 * pasid.c: intel_pasid_setup_nested (v7.0): the stage-1 address width must be 4- or 5-level
 * (5 only with FL5LP), else -EINVAL (SRE/EAFE flags are never asked here); -ENODEV without a
 * table leaf, -EBUSY when the entry is present; the caches as for any new entry.
 */
export function* intel_pasid_setup_nested(
  iommu: IntelIommu, dev: Device, pasid: number, did: number, pgtbl_addr: number, addr_width: 48 | 57, slptr: number, levels: 4 | 5,
): Co<Errno | 0> {
  if (addr_width === 57 && !iommu.fl5lp) return 'EINVAL';
  yield* spin_lock(iommu.lock);
  const table = intel_pasid_get_entry(dev, pasid);
  if (table === undefined) {
    yield* spin_unlock(iommu.lock);
    return 'ENODEV';
  }
  if (table.read(pasid).present) {
    yield* spin_unlock(iommu.lock);
    return 'EBUSY';
  }
  yield* pasid_clear_for_setup(table, pasid);
  yield* pasid_store(table, pasid, pasid_pte_config_nestd(pgtbl_addr, slptr, did, levels), NESTED_ORDER);
  yield* spin_unlock(iommu.lock);
  yield* pasid_flush_caches(iommu, pasid, did);
  return 0;
}

/**
 * nested.c: domain_setup_nested (v7.0, after c3b1edea3791): a replacement tears the old entry
 * down, then sets the nested one up. Under B60/R05 the pre-fix intel_pasid_replace_nested
 * (7543ee63e811 to c3b1edea3791) wrote it over the present entry, as the other replace helpers.
 */
export function* domain_setup_nested(
  iommu: IntelIommu, dev: Device, pasid: number, did: number, pgtbl_addr: number, addr_width: 48 | 57,
  slptr: number, levels: 4 | 5, old: boolean,
): Co<Errno | 0> {
  if (old && replacesInPlace(iommu)) {
    if (addr_width === 57 && !iommu.fl5lp) return 'EINVAL';
    return yield* intel_pasid_replace_v6_x(iommu, dev, pasid, pasid_pte_config_nestd(pgtbl_addr, slptr, did, levels));
  }
  if (old) yield* intel_pasid_tear_down_entry(iommu, dev, pasid, false);
  return yield* intel_pasid_setup_nested(iommu, dev, pasid, did, pgtbl_addr, addr_width, slptr, levels);
}
