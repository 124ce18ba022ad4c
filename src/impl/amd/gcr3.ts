/**
 * GCR3 tables and device table entries, after drivers/iommu/amd/iommu.c (v6.19-rc):
 * get_gcr3_levels, setup_gcr3_table, free_gcr3_table, __get_gcr3_pte, update_gcr3,
 * amd_iommu_set_gcr3, amd_iommu_clear_gcr3, set_dte_gcr3_table, set_dte_entry,
 * clear_dte_entry, dev_update_dte, amd_iommu_update_dte and update_dte256 with its two
 * 128-bit writers (write_dte_upper128 / write_dte_lower128, v6.14+).
 *
 * Yield points at the stores the IOMMU reads: the GCR3 entry (one 64-bit store) and each half
 * of the DTE, so a device's DMA or page request can fetch between them.
 */
import { CLEAR_DTE, Gcr3Table, type Dte } from '../../hw/amd/index.js';
import type { Errno } from '../../shared/index.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { preemptPoint, type Co } from '../core/sched.js';
import { amd_iommu_dev_flush_pasid_all, build_inv_iommu_pages, device_flush_dte, iommu_completion_wait, iommu_flush_dte_sync, iommu_queue_command, ALL_PAGES, IOMMU_NO_PASID } from './cmd.js';
import { amd_iommu_max_glx_val, amd_iommu_pdom_id_alloc, amd_iommu_pdom_id_free } from './pdomIds.js';
import type { Gcr3TblInfo, IommuDevData } from './structs.js';

/** get_count_order: ceil(log2(n)). */
const get_count_order = (n: number): number => (n <= 1 ? 0 : Math.ceil(Math.log2(n)));

/** get_gcr3_levels (v6.19-rc): 9 PASID bits per 4K level; levels - 1 is the DTE's GLX. */
export function get_gcr3_levels(pasids: number, max_glx: number): number {
  if (pasids === -1) return max_glx;
  const levels = get_count_order(pasids);
  return levels ? Math.ceil(levels / 9) - 1 : levels;
}

/**
 * setup_gcr3_table (v6.19-rc): -EINVAL beyond the IOMMU's GLX, -EBUSY if one exists, a
 * per-device domain ID (-ENOSPC when pdom_ids is full), then the root table.
 */
export function setup_gcr3_table(dev_data: IommuDevData, pasids: number): Errno | 0 {
  const gcr3_info = dev_data.gcr3_info;
  const kernel = dev_data.iommu.kernel;
  const levels = get_gcr3_levels(pasids, amd_iommu_max_glx_val(kernel));
  if (levels > amd_iommu_max_glx_val(kernel)) return 'EINVAL';
  if (gcr3_info.gcr3_tbl !== undefined) return 'EBUSY';
  const domid = amd_iommu_pdom_id_alloc(kernel);
  if (domid <= 0) return 'ENOSPC';
  gcr3_info.domid = domid;
  gcr3_info.gcr3_tbl = new Gcr3Table(dev_data.iommu.unit.name, levels);
  gcr3_info.glx = levels;
  return 0;
}

/** free_gcr3_table (v6.19-rc): the levels, the per-device domain ID, the root. */
export function free_gcr3_table(gcr3_info: Gcr3TblInfo, dev_data: IommuDevData): void {
  gcr3_info.glx = 0;
  amd_iommu_pdom_id_free(dev_data.iommu.kernel, gcr3_info.domid);
  if (gcr3_info.gcr3_tbl !== undefined) gcr3_info.gcr3_tbl.freed = true;
  gcr3_info.gcr3_tbl = undefined;
}

/**
 * update_gcr3 (v6.19-rc): __get_gcr3_pte with alloc (the missing levels: -ENOMEM if a
 * GFP_ATOMIC page fails, before anything is written), write or clear the entry, then
 * flush the PASID on the IOMMU and the ATC (dev_flush_pasid_all), which also drops the
 * IOMMU's cached copy of the entry.
 */
function* update_gcr3(dev_data: IommuDevData, pasid: number, gcr3: number, set: boolean): Co<Errno | 0> {
  const tbl = dev_data.gcr3_info.gcr3_tbl;
  if (tbl === undefined) return 'ENOMEM';
  // __get_gcr3_pte allocates only a level that is missing (the root always exists).
  if (!tbl.hasLeaf(pasid) && dev_data.iommu.kernel.shouldFail('iommu_alloc_pages_node@__get_gcr3_pte')) return 'ENOMEM';
  tbl.allocLeaf(pasid);
  tbl.write(pasid, set ? { valid: true, cr3: gcr3 } : { valid: false, cr3: 0 });
  // The IOMMU may fetch the new entry (or still hit its cached old one) before the flush.
  yield GCR3_STORE;
  yield* amd_iommu_dev_flush_pasid_all(dev_data, pasid);
  return 0;
}

const GCR3_STORE = preemptPoint('update_gcr3: *pte store (GCR3 entry)');
const DTE_UPPER_STORE = preemptPoint('write_dte_upper128: DTE[255:128] store');
const DTE_LOWER_STORE = preemptPoint('write_dte_lower128: DTE[127:0] store');

/** amd_iommu_set_gcr3 (v6.19-rc). */
export function* amd_iommu_set_gcr3(dev_data: IommuDevData, pasid: number, gcr3: number): Co<Errno | 0> {
  const ret = yield* update_gcr3(dev_data, pasid, gcr3, true);
  if (ret !== 0) return ret;
  dev_data.gcr3_info.pasid_cnt++;
  return 0;
}

/** amd_iommu_clear_gcr3 (v6.19-rc). */
export function* amd_iommu_clear_gcr3(dev_data: IommuDevData, pasid: number): Co<Errno | 0> {
  const ret = yield* update_gcr3(dev_data, pasid, 0, false);
  if (ret !== 0) return ret;
  dev_data.gcr3_info.pasid_cnt--;
  return 0;
}

/**
 * set_dte_gcr3_table (v6.19-rc): TV, PPR when on the IOPF queue, GV, GLX, the GCR3 root, the
 * per-device domain ID, I for ATS, and the guest page-table level (GIOV only for v2 paging
 * domains: never for the identity RID domain SVA devices sit in).
 */
function set_dte_gcr3_table(dev_data: IommuDevData): Dte {
  const g = dev_data.gcr3_info;
  return {
    v: true, tv: true, gv: true, giov: false, glx: g.glx, gcr3: g.gcr3_tbl, domid: g.domid,
    ppr: dev_data.ppr, iotlb: dev_data.ats_enabled, gptLevels: dev_data.iommu.kernel.topology.ptLevels,
  };
}

/**
 * set_dte_passthrough (v6.19-rc), as written: `data[1] |= FIELD_PREP(DTE_DOMID_MASK, id) |
 * (ats_enabled) ? DTE_FLAG_IOTLB : 0` parses as `(FIELD_PREP(..) | ats_enabled) ? IOTLB : 0`
 * (`|` binds tighter than `?:`), so the DTE gets no domain ID and the I bit whenever the
 * domain ID is non-zero. Ported as the C evaluates it (docs/amd.md, upstream findings).
 */
function set_dte_passthrough(dev_data: IommuDevData): Dte {
  const id = dev_data.domain?.id ?? 0;
  return { ...CLEAR_DTE, v: true, tv: true, domid: 0, iotlb: (id | (dev_data.ats_enabled ? 1 : 0)) !== 0 };
}

/** write_dte_upper128 (v6.14+): one 128-bit cmpxchg of DTE[255:128] (the IRQ bits kept). */
function* write_dte_upper128(dev_data: IommuDevData, dte: Dte): Co {
  dev_data.iommu.unit.devTable.writeUpper128(dev_data.devid, dte);
  yield DTE_UPPER_STORE;
}

/** write_dte_lower128 (v6.14+): one 128-bit cmpxchg of DTE[127:0] (the IVRS bits kept). */
function* write_dte_lower128(dev_data: IommuDevData, dte: Dte): Co {
  dev_data.iommu.unit.devTable.writeLower128(dev_data.devid, dte);
  yield DTE_LOWER_STORE;
}

/**
 * update_dte256 (v6.14+, unchanged to v7.0-rc5), under dev_data->dte_lock: the IOMMU reads the
 * entry in one 256-bit transaction but the driver writes two 128-bit halves, so V and GV (in
 * the lower half) go last when set and first when cleared; a change of guest paging level
 * with GV kept clears the lower half and flushes first. Every branch but the last (the lower
 * half alone) ends with iommu_flush_dte_sync, and amd_iommu_update_dte flushes the same DTE
 * again after: the C invalidates each updated DTE twice.
 */
function* update_dte256(dev_data: IommuDevData, dte: Dte): Co {
  const iommu = dev_data.iommu;
  yield* spin_lock(dev_data.dte_lock);
  const ptr = iommu.unit.devTable.get(dev_data.devid);
  if (!ptr.v) {
    // Existing DTE is not valid.
    yield* write_dte_upper128(dev_data, dte);
    yield* write_dte_lower128(dev_data, dte);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
  } else if (!dte.v) {
    // Existing DTE is valid, the new one is not.
    yield* write_dte_lower128(dev_data, dte);
    yield* write_dte_upper128(dev_data, dte);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
  } else if (!ptr.gv) {
    // Both valid; the existing one has no guest page table.
    yield* write_dte_upper128(dev_data, dte);
    yield* write_dte_lower128(dev_data, dte);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
  } else if (!dte.gv) {
    // Both valid; the existing one has a guest page table, the new one none.
    yield* write_dte_lower128(dev_data, dte);
    yield* write_dte_upper128(dev_data, dte);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
  } else if (ptr.gptLevels !== dte.gptLevels) {
    // Both have guest page tables of different levels: disable and flush first, then write both.
    yield* write_dte_lower128(dev_data, CLEAR_DTE);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
    yield* write_dte_upper128(dev_data, dte);
    yield* write_dte_lower128(dev_data, dte);
    yield* iommu_flush_dte_sync(iommu, dev_data.devid);
  } else {
    // Same guest paging level: the lower half alone, no flush here.
    yield* write_dte_lower128(dev_data, dte);
  }
  yield* spin_unlock(dev_data.dte_lock);
}

/**
 * amd_iommu_update_dte (v6.19-rc): write the 256-bit entry (update_dte256), then flush it
 * (device_flush_dte: the DTE and the device's whole ATC) and wait.
 */
function* amd_iommu_update_dte(dev_data: IommuDevData, dte: Dte): Co {
  yield* update_dte256(dev_data, dte);
  yield* device_flush_dte(dev_data);
  yield* iommu_completion_wait(dev_data.iommu);
}

/**
 * set_dte_entry (v6.19-rc): a GCR3 table's DTE, or identity passthrough (TV, domain ID, no
 * GV), then a TLB flush of the domain ID the old entry held.
 */
function* set_dte_entry(dev_data: IommuDevData): Co {
  const iommu = dev_data.iommu;
  const old_domid = iommu.unit.devTable.get(dev_data.devid).domid;
  let dte: Dte;
  if (dev_data.gcr3_info.gcr3_tbl !== undefined) dte = set_dte_gcr3_table(dev_data);
  else dte = set_dte_passthrough(dev_data);
  yield* amd_iommu_update_dte(dev_data, dte);
  if (old_domid !== 0) {
    // amd_iommu_flush_tlb_domid: host translations of the old domain ID (none cached for SVA).
    yield* iommu_queue_command(iommu, build_inv_iommu_pages(0n, ALL_PAGES, old_domid, IOMMU_NO_PASID, false));
    yield* iommu_completion_wait(iommu);
  }
}

/** dev_update_dte (v6.19-rc): set_dte_entry, or clear_dte_entry (V only: blocks all DMA). */
export function* dev_update_dte(dev_data: IommuDevData, set: boolean): Co {
  if (set) yield* set_dte_entry(dev_data);
  else yield* amd_iommu_update_dte(dev_data, { ...CLEAR_DTE, v: true });
}
