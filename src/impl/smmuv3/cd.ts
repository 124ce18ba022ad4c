/**
 * Context descriptors, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c and
 * arm-smmu-v3-sva.c (v6.17): building the SVA CD, the CD table and its lazily allocated
 * leaves, and the hitless CD write whose every step is followed by CFGI_CD + CMD_SYNC.
 */
import { CD_ZERO, CTXDESC_L2_ENTRIES, type Cd } from '../../hw/smmuv3/index.js';
import type { Errno } from '../../shared/index.js';
import { noteFinding } from '../core/kernel.js';
import { might_sleep } from '../core/locking.js';
import { type Co, preemptPoint } from '../core/sched.js';
import type { MmStruct } from '../core/types.js';
import { arm_smmu_write_entry, type EntryLayout } from './entryWriter.js';
import { ArmSmmuCmdqBatch } from './inv.js';
import { IOMMU_NO_PASID, type ArmSmmuMaster } from './structs.js';

const CD_FIELDS: readonly (keyof Cd)[] = ['v', 'epd0', 'r', 'a', 's', 'asid', 'levels', 'ttb0'];
const bit = (f: keyof Cd): number => 1 << CD_FIELDS.indexOf(f);
const ALL = (1 << CD_FIELDS.length) - 1;

/**
 * arm_smmu_get_cd_used (v6.17): only V of an invalid CD is read; with EPD0 set, T0SZ (and the
 * rest of TCR0) and TTB0 are IGNORED, which is what makes the SVA ↔ quiet CD swap hitless.
 */
export function arm_smmu_get_cd_used(cd: Cd): number {
  if (!cd.v) return bit('v');
  return cd.epd0 ? ALL & ~bit('levels') & ~bit('ttb0') : ALL;
}

export const CD_LAYOUT: EntryLayout<Cd> = {
  fields: CD_FIELDS,
  // TTB0 sits in qword 1; V, the TCR and the ASID in qword 0.
  qword: [0, 0, 0, 0, 0, 0, 0, 1],
  zero: CD_ZERO,
  used: arm_smmu_get_cd_used,
  store: preemptPoint('arm_smmu_write_cd_entry: WRITE_ONCE(cdptr->data[i])'),
};

/**
 * arm-smmu-v3-sva.c: arm_smmu_make_sva_cd (v6.17). With an mm: TTB0 = pgd, T0SZ from the VA
 * size. Without one (mm release): EPD0 set so nothing is walked, V kept to avoid C_BAD_CD
 * events, and S and R cleared (no STALL_FORCE here) so DMA aborts at once.
 */
export function arm_smmu_make_sva_cd(master: ArmSmmuMaster, mm: MmStruct | undefined, asid: number): Cd {
  const cd: Cd = { ...CD_ZERO, v: true, r: true, a: true, s: master.stall_enabled, asid };
  if (mm !== undefined) return { ...cd, levels: mm.pgd.levels, ttb0: mm.pgd.pgd };
  return { ...cd, epd0: true, s: false, r: false };
}

/** arm_smmu_sync_cd (v6.17): CFGI_CD for each of the master's streams, one batch, one sync. */
export function* arm_smmu_sync_cd(master: ArmSmmuMaster, ssid: number, leaf: boolean): Co {
  const cmds = new ArmSmmuCmdqBatch(master.smmu);
  for (const sid of master.streams) cmds.add({ kind: 'CFGI_CD', sid, ssid, leaf });
  yield* cmds.submit();
}

/**
 * arm_smmu_alloc_cd_tables (v7.0-rc5): linear up to CTXDESC_L2_ENTRIES CDs (one
 * dma_alloc_coherent), else two levels: kcalloc the l2ptrs, then dma_alloc_coherent the L1
 * table, whose failure frees l2ptrs again (err_free_l2ptrs).
 */
export function arm_smmu_alloc_cd_tables(master: ArmSmmuMaster): Errno | 0 {
  const cd_table = master.cd_table;
  const kernel = master.smmu.kernel;
  might_sleep(kernel, 'arm_smmu_alloc_cd_tables: dma_alloc_coherent(GFP_KERNEL)');
  cd_table.s1cdmax = master.ssid_bits;
  if (2 ** cd_table.s1cdmax <= CTXDESC_L2_ENTRIES) {
    if (kernel.shouldFail('dma_alloc_coherent@arm_smmu_alloc_cd_tables')) return 'ENOMEM';
  } else {
    if (kernel.shouldFail('kcalloc@arm_smmu_alloc_cd_tables')) return 'ENOMEM';
    if (kernel.shouldFail('dma_alloc_coherent@arm_smmu_alloc_cd_tables')) {
      // B41: before 5941f0e0c1e0 (v6.18-rc6) the check after this allocation tested l2ptrs,
      // which had just been allocated: the failure went unnoticed and 0 was returned with
      // l2.l1tab NULL.
      if (kernel.fault === 'B41') return 0;
      return 'ENOMEM';
    }
  }
  // The hardware chooses the format from the size, exactly as the kernel's test does when
  // ARM_SMMU_FEAT_2_LVL_CDTAB is present (it always is here).
  cd_table.table = master.smmu.unit.allocCdTable(cd_table.s1cdmax);
  return 0;
}

/** arm_smmu_get_cd_ptr (v6.17): is there memory for this SSID's CD (table and leaf)? */
export function arm_smmu_get_cd_ptr(master: ArmSmmuMaster, ssid: number): boolean {
  const t = master.cd_table.table;
  return t !== undefined && t.hasLeaf(ssid);
}

/** The store of a new leaf's L1 descriptor (arm_smmu_write_cd_l1_desc's WRITE_ONCE). */
const L1_DESC_STORE = preemptPoint('arm_smmu_write_cd_l1_desc: WRITE_ONCE(*dst)');

/**
 * arm_smmu_alloc_cd_ptr (v6.17): allocate the table, and for a two-level table the leaf; a
 * new L1 descriptor is synced with CFGI_CD(leaf = false) because an invalid L1CD may be cached.
 */
export function* arm_smmu_alloc_cd_ptr(master: ArmSmmuMaster, ssid: number): Co<boolean> {
  const kernel = master.smmu.kernel;
  if (master.cd_table.table === undefined && arm_smmu_alloc_cd_tables(master) !== 0) return false;
  const t = master.cd_table.table;
  // Only B41's unnoticed failure gets here without a table: the leaf's L1 descriptor is then
  // written through l2.l1tab = NULL.
  if (t === undefined) throw new Error(`Oops: NULL pointer dereference writing the L1 CD descriptor of SSID ${ssid} (l2.l1tab NULL)`);
  if (!t.hasLeaf(ssid)) {
    // arm_smmu_alloc_cd_leaf_table: a 64K high-order dma_alloc_coherent(GFP_KERNEL) that sleeps.
    might_sleep(kernel, 'arm_smmu_alloc_cd_leaf_table: dma_alloc_coherent(GFP_KERNEL)');
    if (kernel.shouldFail('dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table')) return false;
    t.allocLeaf(ssid);
    yield L1_DESC_STORE;
    yield* arm_smmu_sync_cd(master, ssid, false);
  }
  return arm_smmu_get_cd_ptr(master, ssid);
}

/**
 * CDs with a write in progress, per master. Mainline has no lock common to every writer of
 * one CD: arm_smmu_mm_release holds devices_lock, arm_smmu_clear_cd under a detach
 * arm_smmu_asid_lock. Two writers at once (finding smmuv3-release-vs-detach-cd) mix their
 * stores and their used_ssids updates: each counted from the CD it read before the other wrote.
 */
const writing = new WeakMap<ArmSmmuMaster, Set<number>>();

/** arm_smmu_write_cd_entry (v6.17): keep used_ssids, then the hitless write. */
export function* arm_smmu_write_cd_entry(master: ArmSmmuMaster, ssid: number, target: Cd): Co {
  const table = master.cd_table.table!;
  const cur = table.read(ssid);
  if (ssid !== IOMMU_NO_PASID && cur.v !== target.v) master.cd_table.used_ssids += cur.v ? -1 : 1;
  let busy = writing.get(master);
  if (busy === undefined) writing.set(master, (busy = new Set()));
  if (busy.has(ssid)) noteFinding(master.smmu.kernel, 'smmuv3-release-vs-detach-cd');
  busy.add(ssid);
  yield* arm_smmu_write_entry(
    {
      layout: CD_LAYOUT,
      read: () => table.read(ssid),
      write: (cd) => table.write(ssid, cd),
      sync: () => arm_smmu_sync_cd(master, ssid, true),
    },
    target,
  );
  busy.delete(ssid);
}

/** arm_smmu_clear_cd (v6.17): write an all-zero CD, if the table exists. */
export function* arm_smmu_clear_cd(master: ArmSmmuMaster, ssid: number): Co {
  if (master.cd_table.table === undefined) return;
  if (!arm_smmu_get_cd_ptr(master, ssid)) return; // WARN_ON(!cdptr) in the kernel
  yield* arm_smmu_write_cd_entry(master, ssid, CD_ZERO);
}

/** arm_smmu_ssids_in_use (v6.17, arm-smmu-v3.h). */
export const arm_smmu_ssids_in_use = (master: ArmSmmuMaster): boolean => master.cd_table.used_ssids !== 0;
