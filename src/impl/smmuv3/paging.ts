/**
 * SMMUv3 paging domains as iommufd uses them at a PASID, after
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v7.0-rc5; read in the 6.18.y tree, whose
 * SMMUv3 paging path the v7.0 revlists leave unchanged: the per-domain arm_smmu_invs rework is
 * queued for v7.1): arm_smmu_domain_alloc_paging_flags, arm_smmu_domain_finalise with its S1
 * ASID and S2 VMID, arm_smmu_make_s1_cd, arm_smmu_s1_set_dev_pasid, the map/unmap/iotlb_sync
 * ops and arm_smmu_domain_free_paging. The io-pgtable is drivers/iommu/io-pgtable-arm.c's
 * ARM_64_LPAE_S1 format at a 4K granule, 48-bit IAS: four levels of 512 eight-byte entries,
 * which is the emulated radix table (valid = P; AP[2] read-only = !W; AP[1] unprivileged = U,
 * which arm_lpae_prot_to_pte sets for every mapping without IOMMU_PRIV).
 */
import { PAGE_SIZE, err, ok, type Errno, type Result } from '../../shared/index.js';
import { KERNEL_OWNER } from '../../hw/mem.js';
import { Radix } from '../../hw/radix.js';
import { CD_ZERO, type Cd } from '../../hw/smmuv3/index.js';
import { mutex_lock, mutex_unlock } from '../core/locking.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT, type IommuDomainOps, type IommuIotlbGather } from '../core/ops.js';
import { iommu_iotlb_gather_add_page } from '../core/paging.js';
import type { Co } from '../core/sched.js';
import type { Device, IommuDomain } from '../core/types.js';
import { arm_smmu_set_pasid, arm_smmu_attach_dev } from './attach.js';
import { arm_smmu_atc_inv_domain, arm_smmu_cmdq_issue_cmd_with_sync, arm_smmu_tlb_inv_asid, arm_smmu_tlb_inv_range_domain } from './inv.js';
import { ArmSmmuDomain, arm_smmu_asid_lock, dev_iommu_priv_get, to_smmu_domain, type ArmSmmuDevice, type ArmSmmuMaster } from './structs.js';

/** ARM_64_LPAE_S1 at 4K with ias = min(48, VA_BITS): a level-0 table and three below it. */
const LPAE_LEVELS = 4;

/** smmu->pgsize_bitmap with IDR5.GRAN4K: SZ_4K | SZ_2M | SZ_1G (arm_smmu_device_hw_probe). */
const SMMU_PGSIZE_BITMAP = PAGE_SIZE | (1n << 21n) | (1n << 30n);

/**
 * arm_smmu_make_s1_cd (v7.0-rc5): V, R, A, S when the master stalls, the domain's ASID, TCR
 * from the io-pgtable (T0SZ for 48 bits: four levels), TTB0 = the table's root, EPD1.
 */
export function arm_smmu_make_s1_cd(master: ArmSmmuMaster, smmu_domain: ArmSmmuDomain): Cd {
  const pt = smmu_domain.pgtbl!;
  return { ...CD_ZERO, v: true, r: true, a: true, s: master.stall_enabled, asid: smmu_domain.cd.asid, levels: pt.levels, ttb0: pt.radix.root };
}

/**
 * arm_smmu_s1_set_dev_pasid (v7.0-rc5): "a dual-purpose check": the domain was finalised for
 * this master's SMMU, and it is stage 1 (a stage-2 or nest-parent domain is -EINVAL at a
 * PASID). The ASID read here is fixed up under arm_smmu_asid_lock by arm_smmu_set_pasid.
 */
function* arm_smmu_s1_set_dev_pasid(domain: IommuDomain, dev: Device, id: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const smmu_domain = to_smmu_domain(domain);
  const master = dev_iommu_priv_get(dev);
  if (smmu_domain.smmu !== master.smmu) return 'EINVAL';
  if (smmu_domain.stage !== 'S1') return 'EINVAL';
  return yield* arm_smmu_set_pasid(master, smmu_domain, id, arm_smmu_make_s1_cd(master, smmu_domain), old);
}

/**
 * arm_smmu_map_pages → io-pgtable-arm arm_lpae_map_pages, one 4K page: the tables below
 * level 0 are allocated on demand; IOMMU_READ always, IOMMU_WRITE as asked.
 */
function* arm_smmu_map_pages(domain: IommuDomain, iova: number, frame: number, write: boolean): Co<Errno | 0> {
  const pt = to_smmu_domain(domain).pgtbl;
  if (pt === undefined) return 'ENODEV';
  pt.radix.map(iova, frame, write, true);
  return 0;
}

/**
 * arm_smmu_unmap_pages → io-pgtable-arm __arm_lpae_unmap at the leaf level: the PTE is
 * cleared and io_pgtable_tlb_add_page (arm_smmu_tlb_inv_page_nosync) adds the page to the
 * gather. A one-page unmap never meets a table entry, so no table is freed and no walk flush
 * (arm_smmu_tlb_inv_walk) is issued.
 */
function* arm_smmu_unmap_pages(domain: IommuDomain, iova: number, gather: IommuIotlbGather): Co<number> {
  const pt = to_smmu_domain(domain).pgtbl;
  if (pt === undefined || pt.radix.unmap(iova) === 0) return 0;
  yield* iommu_iotlb_gather_add_page(domain, gather, iova, PAGE_SIZE);
  return Number(PAGE_SIZE);
}

/** arm_smmu_iotlb_sync (v7.0-rc5): nothing gathered (pgsize 0), nothing to do; else a leaf range flush. */
function* arm_smmu_iotlb_sync(domain: IommuDomain, gather: IommuIotlbGather): Co {
  if (gather.pgsize === 0n) return;
  yield* arm_smmu_tlb_inv_range_domain(gather.start, gather.end - gather.start + 1n, gather.pgsize, true, to_smmu_domain(domain));
}

/**
 * arm_smmu_tlb_inv_context (v7.0-rc5; the per-domain invalidation arrays replace it in v7.1):
 * the io-pgtable's tlb_flush_all. Stage 1: every TLB entry of the ASID (arm_smmu_tlb_inv_asid);
 * stage 2: CMD_TLBI_S12_VMALL of the VMID, with a sync; then the ATCs of the domain's ATS
 * masters (none once it is detached everywhere).
 */
function* arm_smmu_tlb_inv_context(smmu_domain: ArmSmmuDomain): Co {
  const smmu = smmu_domain.smmu;
  if (smmu_domain.stage === 'S1') yield* arm_smmu_tlb_inv_asid(smmu, smmu_domain.cd.asid);
  else yield* arm_smmu_cmdq_issue_cmd_with_sync(smmu, { kind: 'TLBI_S12_VMALL', vmid: smmu_domain.s2_cfg.vmid });
  yield* arm_smmu_atc_inv_domain(smmu_domain, 0n, 0n);
}

/**
 * io-pgtable.c: free_io_pgtable_ops (v7.0-rc5): io_pgtable_tlb_flush_all, then the format's
 * free (io-pgtable-arm.c: arm_lpae_free_pgtable, every table page from the root down). The
 * flush is what lets the ASID or VMID be reused: a detach clears the CD and leaves the TLB
 * entries tagged with the ASID, and nothing else drops them.
 */
function* free_io_pgtable_ops(smmu_domain: ArmSmmuDomain): Co {
  const pgtbl = smmu_domain.pgtbl;
  if (pgtbl === undefined) return;
  yield* arm_smmu_tlb_inv_context(smmu_domain);
  pgtbl.radix.freeTables();
  smmu_domain.pgtbl = undefined;
}

/**
 * arm_smmu_domain_free_paging (v7.0-rc5): the io-pgtable goes (free_io_pgtable_ops, which
 * flushes the domain's TLB entries first), then the ASID (under arm_smmu_asid_lock, so SVA
 * cannot touch the CD meanwhile) or the VMID.
 */
function* arm_smmu_domain_free_paging(domain: IommuDomain): Co {
  const smmu_domain = to_smmu_domain(domain);
  const smmu = smmu_domain.smmu;
  yield* free_io_pgtable_ops(smmu_domain);
  if (smmu_domain.stage === 'S1') {
    const asid_lock = arm_smmu_asid_lock(smmu.kernel);
    yield* mutex_lock(asid_lock);
    smmu.asid_xa.xa_erase(smmu_domain.cd.asid);
    yield* mutex_unlock(asid_lock);
  } else if (smmu_domain.s2_cfg.vmid !== 0) smmu.vmid_map.delete(smmu_domain.s2_cfg.vmid); // ida_free
  smmu_domain.freed = true;
  domain.freed = true;
}

/** arm_smmu_ops.default_domain_ops (v7.0-rc5), the members a PASID attach and iommufd use. */
export const arm_smmu_paging_domain_ops: IommuDomainOps = Object.freeze({
  attach_dev: arm_smmu_attach_dev,
  set_dev_pasid: arm_smmu_s1_set_dev_pasid,
  free: arm_smmu_domain_free_paging,
  map_pages: arm_smmu_map_pages,
  unmap_pages: arm_smmu_unmap_pages,
  iotlb_sync: arm_smmu_iotlb_sync,
});

/**
 * arm_smmu_domain_finalise_s1 (v7.0-rc5): an ASID from the global arm_smmu_asid_xa in
 * [1, 2^asid_bits - 1] under arm_smmu_asid_lock ("Prevent SVA from modifying the ASID until it
 * is written to the CD"); xa_alloc's -EBUSY when none is free.
 */
function* arm_smmu_domain_finalise_s1(smmu: ArmSmmuDevice, smmu_domain: ArmSmmuDomain): Co<Errno | 0> {
  const asid_lock = arm_smmu_asid_lock(smmu.kernel);
  yield* mutex_lock(asid_lock);
  const asid = smmu.asid_xa.xa_alloc(smmu_domain, 1, 2 ** smmu.asid_bits - 1);
  smmu_domain.cd.asid = asid === 'EBUSY' ? 0 : asid;
  yield* mutex_unlock(asid_lock);
  return asid === 'EBUSY' ? 'EBUSY' : 0;
}

/** arm_smmu_domain_finalise_s2 (v7.0-rc5): a VMID from smmu->vmid_map in [1, 2^vmid_bits - 1] (0 is for S2 bypass STEs). */
function arm_smmu_domain_finalise_s2(smmu: ArmSmmuDevice, smmu_domain: ArmSmmuDomain): Errno | 0 {
  for (let vmid = 1; vmid < 2 ** smmu.vmid_bits; vmid++) {
    if (smmu.vmid_map.has(vmid)) continue;
    smmu.vmid_map.add(vmid);
    smmu_domain.s2_cfg.vmid = vmid;
    return 0;
  }
  return 'ENOSPC';
}

/**
 * arm_smmu_domain_finalise (v7.0-rc5): the io-pgtable for the stage (alloc_io_pgtable_ops),
 * the domain's pgsize_bitmap from it, then the stage's ASID or VMID; a failure there frees the
 * table again. Only then is the domain tied to this SMMU.
 */
function* arm_smmu_domain_finalise(smmu_domain: ArmSmmuDomain, smmu: ArmSmmuDevice): Co<Errno | 0> {
  const mem = smmu.kernel.mem;
  const root = mem.alloc('table', KERNEL_OWNER);
  const pgtbl = { radix: new Radix(mem, root, LPAE_LEVELS, KERNEL_OWNER), levels: LPAE_LEVELS };
  smmu_domain.pgsize_bitmap = SMMU_PGSIZE_BITMAP;
  const ret = smmu_domain.stage === 'S1' ? yield* arm_smmu_domain_finalise_s1(smmu, smmu_domain) : arm_smmu_domain_finalise_s2(smmu, smmu_domain);
  if (ret !== 0) {
    mem.free(root); // free_io_pgtable_ops
    return ret;
  }
  smmu_domain.pgtbl = pgtbl;
  return 0;
}

/**
 * arm_smmu_domain_alloc_paging_flags (v7.0-rc5): arm_smmu_domain_alloc (kzalloc), then the
 * stage: flags 0 prefers S1; IOMMU_HWPT_ALLOC_NEST_PARENT needs ARM_SMMU_FEAT_NESTING (S1 and
 * S2 both implemented) and is S2 (-EOPNOTSUPP otherwise, err_free). Then finalise.
 */
export function* arm_smmu_domain_alloc_paging_flags(dev: Device, flags: number): Co<Result<IommuDomain>> {
  const master = dev_iommu_priv_get(dev);
  const smmu = master.smmu;
  if ((flags & ~IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0) return err('EOPNOTSUPP');
  if (smmu.kernel.shouldFail('kzalloc@arm_smmu_domain_alloc')) return err('ENOMEM');
  const smmu_domain = new ArmSmmuDomain(smmu, smmu.kernel.nextId('domain'), arm_smmu_paging_domain_ops, smmu.ops, undefined, 'PAGING');
  if (flags === IOMMU_HWPT_ALLOC_NEST_PARENT) {
    if (!smmu.features.nesting) return err('EOPNOTSUPP'); // err_free: the kfree
    smmu_domain.stage = 'S2';
    smmu_domain.nest_parent = true;
  } else smmu_domain.stage = smmu.features.trans_s1 ? 'S1' : 'S2';
  const ret = yield* arm_smmu_domain_finalise(smmu_domain, smmu);
  if (ret !== 0) return err(ret);
  smmu.kernel.trace?.event('driver', smmu.unit.name, `paging domain ${smmu_domain.domain.id} ${smmu_domain.stage} ${smmu_domain.stage === 'S1' ? `asid ${smmu_domain.cd.asid}` : `vmid ${smmu_domain.s2_cfg.vmid}`}`);
  return ok(smmu_domain.domain);
}
