/**
 * The SVA side of the SMMUv3 driver, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c
 * (v6.17): one SVA domain per (mm, SMMU instance) with a private ASID, its mmu notifier
 * (invalidate, release, free) and its set_dev_pasid / free ops.
 */
import { type Co } from '../core/sched.js';
import { PAGE_SIZE, ULONG_MAX, err, ok, type Errno, type Result } from '../../shared/index.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { mmget_not_zero, mmput } from '../core/mm.js';
import { mmu_notifier_put, mmu_notifier_register } from '../core/mmuNotifier.js';
import type { IommuDomainOps, MmuNotifierOps } from '../core/ops.js';
import type { Device, IommuDomain, MmStruct, MmuNotifier } from '../core/types.js';
import { arm_smmu_set_pasid } from './attach.js';
import { arm_smmu_make_sva_cd, arm_smmu_write_cd_entry } from './cd.js';
import { arm_smmu_atc_inv_domain, arm_smmu_tlb_inv_asid, arm_smmu_tlb_inv_range_asid } from './inv.js';
import { ArmSmmuDomain, dev_iommu_priv_get, to_smmu_domain } from './structs.js';

/**
 * CMDQ_MAX_TLBI_OPS (v6.17): 1 << (PAGE_SHIFT - 3) = 512 at 4K, cloned from arm64's
 * MAX_TLBI_OPS. Without RANGE_INV, that many per-page TLBIs or more become one TLBI by ASID
 * (d5afb4b47e13: the soft lockup of B10).
 */
export const CMDQ_MAX_TLBI_OPS = 1n << (12n - 3n);

const U64 = (1n << 64n) - 1n;
const container = (mn: MmuNotifier): ArmSmmuDomain => mn.container as ArmSmmuDomain;

/**
 * arm_smmu_mm_arch_invalidate_secondary_tlbs (v6.17). The range is [start, end), end
 * exclusive, so size = end - start (B11 used end - start + 1). Size 0 means "everything".
 */
function* arm_smmu_mm_arch_invalidate_secondary_tlbs(mn: MmuNotifier, _mm: MmStruct, start: bigint, end: bigint): Co {
  const smmu_domain = container(mn);
  const fault = smmu_domain.smmu.kernel.fault;
  let size = (end - start) & U64;
  if (fault === 'B11') {
    // Old arm_smmu_mm_invalidate_range (arm-smmu-v3-sva.c, v5.11-v5.19), before "Fix size
    // calculation in arm_smmu_mm_invalidate_range()": it took `end` as inclusive, as the IOMMU
    // API does, but mm's end is the first byte after the range, so size was one byte too big
    // and never page aligned: one TLBI too many without RANGE_INV, and with it an
    // __arm_smmu_tlb_inv_range whose range commands stop one byte short of `end`, iova +=
    // 0 for ever.
    size = (end - start + 1n) & U64;
  }
  if (fault === 'B10') {
    // Before d5afb4b47e13 (v6.6-rc4) nothing bounded the per-page TLBIs of an SMMU without
    // RANGE_INV: a munmap of gigabytes, or flush_tlb_mm's (0, ULONG_MAX), became one
    // TLBI_NH_VA per page in one loop, the command-queue soft lockup.
  } else if (!smmu_domain.smmu.features.range_inv) {
    if (size >= CMDQ_MAX_TLBI_OPS * PAGE_SIZE) size = 0n;
  } else if (size === ULONG_MAX) {
    size = 0n;
  }
  // R02: the order of v5.3's arm_smmu_unmap (ATC first, main TLB later), before 353e3cf8590c
  // moved the ATC invalidation after the TLBI + CMD_SYNC. The SVA notifier never had this
  // order; the port has no SMMUv3 ->unmap, so the notifier carries it. Between the ATC_INV's
  // CMD_SYNC and the TLBI a device can refill its ATC from the still-valid TLB entry.
  if (fault === 'R02') yield* arm_smmu_atc_inv_domain(smmu_domain, start, size);
  if (size === 0n) yield* arm_smmu_tlb_inv_asid(smmu_domain.smmu, smmu_domain.cd.asid);
  else yield* arm_smmu_tlb_inv_range_asid(start, size, smmu_domain.cd.asid, PAGE_SIZE, false, smmu_domain);
  if (fault !== 'R02') yield* arm_smmu_atc_inv_domain(smmu_domain, start, size);
}

/**
 * arm_smmu_mm_release (v6.17): DMA may still be running. Keep each CD valid (no C_BAD_CD
 * events) but make it the quiet CD (EPD0, no walks, R/S clear), then flush the ASID and every
 * ATS master's whole ATC for its SSID. The CDs stay until unbind clears them.
 */
export function* arm_smmu_mm_release(mn: MmuNotifier, _mm: MmStruct): Co {
  const smmu_domain = container(mn);
  const kernel = smmu_domain.smmu.kernel;
  yield* spin_lock(smmu_domain.devices_lock);
  for (const master_domain of smmu_domain.devices) {
    const master = master_domain.master;
    // An unbind between its arm_smmu_clear_cd and its arm_smmu_remove_master_domain still lists
    // the master: the quiet CD lands in the slot it cleared (finding smmuv3-release-vs-detach-cd,
    // noted by the detach). The proposed fix leaves a cleared CD alone; the detach then clears
    // under devices_lock, so the check cannot go stale while this walk holds the lock.
    if (kernel.fixes.has('smmuv3-release-vs-detach-cd') && !master.cd_table.table!.read(master_domain.ssid).v) continue;
    const target = arm_smmu_make_sva_cd(master, undefined, smmu_domain.cd.asid);
    yield* arm_smmu_write_cd_entry(master, master_domain.ssid, target);
  }
  yield* spin_unlock(smmu_domain.devices_lock);
  yield* arm_smmu_tlb_inv_asid(smmu_domain.smmu, smmu_domain.cd.asid);
  yield* arm_smmu_atc_inv_domain(smmu_domain, 0n, 0n);
}

/** arm_smmu_mmu_notifier_free (v6.17): the kfree of the domain, one SRCU grace period late. */
function* arm_smmu_mmu_notifier_free(mn: MmuNotifier): Co {
  const smmu_domain = container(mn);
  smmu_domain.freed = true;
  smmu_domain.domain.freed = true;
  mn.freed = true;
}

export const arm_smmu_mmu_notifier_ops: MmuNotifierOps = Object.freeze({
  arch_invalidate_secondary_tlbs: arm_smmu_mm_arch_invalidate_secondary_tlbs,
  release: arm_smmu_mm_release,
  free_notifier: arm_smmu_mmu_notifier_free,
});

/**
 * arm_smmu_sva_set_dev_pasid (v6.17): mmget_not_zero keeps release away while the CD is
 * written; an exiting mm gives -EINVAL. The CD's TTB0 is the mm's pgd.
 */
function* arm_smmu_sva_set_dev_pasid(domain: IommuDomain, dev: Device, id: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const smmu_domain = to_smmu_domain(domain);
  const master = dev_iommu_priv_get(dev);
  if (!master.smmu.features.sva) return 'EOPNOTSUPP';
  const mm = domain.mm!;
  if (!mmget_not_zero(mm)) return 'EINVAL';
  const target = arm_smmu_make_sva_cd(master, mm, smmu_domain.cd.asid);
  // No arm_smmu_asid_lock here: SVA domains never get their ASID reassigned.
  const ret = yield* arm_smmu_set_pasid(master, smmu_domain, id, target, old);
  yield* mmput(mm);
  return ret;
}

/**
 * arm_smmu_sva_domain_free (v6.17): empty the ASID from the TLB before it can be reused, free
 * the ASID (a still-running invalidation then only costs a harmless extra flush), and put the
 * notifier; the memory goes in arm_smmu_mmu_notifier_free after the grace period.
 */
function* arm_smmu_sva_domain_free(domain: IommuDomain): Co {
  const smmu_domain = to_smmu_domain(domain);
  yield* arm_smmu_tlb_inv_asid(smmu_domain.smmu, smmu_domain.cd.asid);
  smmu_domain.smmu.asid_xa.xa_erase(smmu_domain.cd.asid);
  yield* mmu_notifier_put(smmu_domain.mmu_notifier!);
}

export const arm_smmu_sva_domain_ops: IommuDomainOps = Object.freeze({
  set_dev_pasid: arm_smmu_sva_set_dev_pasid,
  free: arm_smmu_sva_domain_free,
});

/**
 * arm_smmu_sva_domain_alloc (v6.17): a domain of the master's SMMU, pgsize_bitmap = PAGE_SIZE
 * (12f78021973a; 0 was B12), a private ASID from [1, 2^asid_bits - 1] (-EBUSY when none is
 * free: xa_alloc's errno), then the notifier. Errors unwind in reverse.
 */
export function* arm_smmu_sva_domain_alloc(dev: Device, mm: MmStruct): Co<Result<IommuDomain>> {
  const master = dev_iommu_priv_get(dev);
  const smmu = master.smmu;
  if (!smmu.features.sva) return err('EOPNOTSUPP');
  if (smmu.kernel.shouldFail('kzalloc@arm_smmu_domain_alloc')) return err('ENOMEM');
  const smmu_domain = new ArmSmmuDomain(smmu, smmu.kernel.nextId('domain'), arm_smmu_sva_domain_ops, smmu.ops, { ops: arm_smmu_mmu_notifier_ops, mm });
  // Until 12f78021973a (2025) the SVA domain never set its pgsize_bitmap: it stayed 0, and
  // __arm_smmu_tlb_inv_range's __ffs(0) = 64 became the range TLBI's page shift (B12).
  if (smmu.kernel.fault !== 'B12') smmu_domain.pgsize_bitmap = PAGE_SIZE;
  // xa_alloc: -ENOMEM when the xarray cannot grow (err_free: the kfree), -EBUSY when full.
  if (smmu.kernel.shouldFail('xa_alloc@arm_smmu_sva_domain_alloc')) return err('ENOMEM');
  const asid = smmu.asid_xa.xa_alloc(smmu_domain, 1, 2 ** smmu.asid_bits - 1);
  if (asid === 'EBUSY') return err('EBUSY');
  smmu_domain.cd.asid = asid;
  const ret = yield* mmu_notifier_register(smmu_domain.mmu_notifier!, mm);
  if (ret !== 0) {
    smmu.asid_xa.xa_erase(asid);
    return err(ret);
  }
  smmu.kernel.trace?.event('driver', smmu.unit.name, `sva domain ${smmu_domain.domain.id} asid ${asid} for mm${mm.slot}`);
  return ok(smmu_domain.domain);
}
