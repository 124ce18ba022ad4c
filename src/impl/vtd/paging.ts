/**
 * VT-d paging domains attached to a PASID, as iommufd uses them, after
 * drivers/iommu/intel/iommu.c (v7.0-rc5): intel_iommu_domain_alloc_paging_flags (first stage
 * preferred, second stage for a nest parent), intel_iommu_set_dev_pasid, and the page-table
 * ops whose unmap is flushed by intel_iommu_tlb_sync through the domain's cache tags. The
 * page table itself (generic_pt since v6.19) is a radix tree of kernel-owned table pages.
 */
import { err, ok, type Errno, type Result } from '../../shared/index.js';
import type { Co } from '../core/sched.js';
import { warn } from '../core/kernel.js';
import { spin_lock_init } from '../core/locking.js';
import { KERNEL_OWNER } from '../../hw/mem.js';
import { Radix } from '../../hw/radix.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT, type IommuDomainOps, type IommuIotlbGather } from '../core/ops.js';
import { iommu_iotlb_gather_add_range } from '../core/paging.js';
import type { Device, IommuDomain } from '../core/types.js';
import { cache_tag_flush_range, domain_id_iommu, intel_domain_is_fs_paging } from './cache.js';
import { intel_iommu_attach_device } from './rid.js';
import { type DmarDomain, type IntelIommu, WARN_ON, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';
import { domain_add_dev_pasid, domain_remove_dev_pasid, intel_iommu_ops } from './iommu.js';
import { iopf_for_domain_replace } from './iopf.js';
import { PASID_FLAG_FL5LP, __domain_setup_first_level, domain_setup_second_level } from './pasid.js';

/** 4-level tables (48-bit IOVA, agaw 2): the width every emulated unit supports. */
const PAGING_LEVELS = 4;

/**
 * iommu.c: intel_iommu_set_dev_pasid (v7.0-rc5). The DID and cache tags first, then IOPF
 * (none for a paging domain), then the PASID entry (first- or second-level form, tearing the
 * old one down on a replacement); only then is the old domain's bookkeeping dropped.
 */
function* intel_iommu_set_dev_pasid(domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  if (WARN_ON(iommu, domain.type !== 'PAGING', 'intel_iommu_set_dev_pasid: not a paging domain')) return 'EINVAL';
  if (iommu.unit.pasidBits === 0) return 'EOPNOTSUPP'; // pasid_supported(iommu)
  const dmar = to_dmar_domain(domain);
  let ret = yield* domain_add_dev_pasid(domain, dev, pasid);
  if (ret !== 0) return ret;
  ret = yield* iopf_for_domain_replace(domain, old, dev);
  if (ret !== 0) {
    yield* domain_remove_dev_pasid(domain, dev, pasid);
    return ret;
  }
  const pt = dmar.pgtable!;
  const did = domain_id_iommu(dmar, iommu);
  // A task down to the entry stores: a device may fetch the entry between them (c3b1edea3791).
  ret = intel_domain_is_fs_paging(dmar)
    ? yield* __domain_setup_first_level(iommu, dev, pasid, did, pt.radix.root, pt.levels === 5 ? PASID_FLAG_FL5LP : 0, old !== undefined)
    : yield* domain_setup_second_level(iommu, dev, pasid, did, pt.radix.root, pt.levels, old !== undefined);
  if (ret !== 0) {
    yield* iopf_for_domain_replace(old, domain, dev);
    yield* domain_remove_dev_pasid(domain, dev, pasid);
    return ret;
  }
  yield* domain_remove_dev_pasid(old, dev, pasid);
  return 0;
}

/** iommu.c: intel_iommu_map_pages, one page (pt_iommu map: read always, write as asked). */
function* intel_iommu_map_pages(domain: IommuDomain, iova: number, frame: number, write: boolean): Co<Errno | 0> {
  // The first-stage format sets the U/S bit on every leaf (DMA is a user-level request).
  to_dmar_domain(domain).pgtable!.radix.map(iova, frame, write, true);
  return 0;
}

/**
 * iommu.c: intel_iommu_unmap_pages: the leaf goes and its range joins the gather. A one-page
 * unmap never empties a table it does not fully cover, so nothing joins the freelist.
 */
function* intel_iommu_unmap_pages(domain: IommuDomain, iova: number, gather: IommuIotlbGather): Co<number> {
  if (to_dmar_domain(domain).pgtable!.radix.unmap(iova) === 0) return 0;
  iommu_iotlb_gather_add_range(gather, iova, 4096n);
  return 4096;
}

/**
 * iommu.c: intel_iommu_tlb_sync (v7.0-rc5): one range flush through every cache tag; the
 * invalidation hint says the paging structures stayed (no table was freed).
 */
function* intel_iommu_tlb_sync(domain: IommuDomain, gather: IommuIotlbGather): Co {
  if (gather.end < gather.start) return; // nothing gathered
  yield* cache_tag_flush_range(to_dmar_domain(domain), gather.start, gather.end, gather.freelist.length === 0);
}

/**
 * iommu.c: paging_domain_compatible (v7.0): paging_domain_compatible_first_stage (FLTS in
 * scalable mode; a nest parent is never first stage) or _second_stage (nesting support for a
 * nest parent, SLTS). Every emulated unit has the same coherency, widths and page sizes, no
 * dirty tracking is asked for and no context entry is copied from a previous kernel, so the
 * other checks always pass and are left out.
 */
export function paging_domain_compatible(domain: DmarDomain, dev: Device): Errno | 0 {
  const iommu = dev_iommu_priv_get(dev).iommu;
  if (intel_domain_is_fs_paging(domain)) {
    if (WARN_ON(iommu, domain.nested_parent === true, 'paging_domain_compatible_first_stage: nest parent')) return 'EINVAL';
    return iommu.flts ? 0 : 'EINVAL';
  }
  if (domain.nested_parent === true && !iommu.nest) return 'EINVAL';
  if (!iommu.slts) return 'EINVAL';
  return 0;
}

/**
 * iommu.c: intel_iommu_domain_free (v7.0-rc5): a nest parent that still has nested domains on
 * its s1_domains list is a WARN and stays, and so is a domain with devices on its RID list
 * (iommufd frees only a domain attached nowhere); else every page-table page goes, with no flush (iommufd frees only
 * a domain attached nowhere, and every detach flushed its PASID), then the qi_batch and the
 * domain.
 */
function* intel_iommu_domain_free(domain: IommuDomain): Co {
  const dmar = to_dmar_domain(domain);
  const kernel = domain.kernel!;
  if (dmar.nested_parent === true && dmar.s1_domains!.length > 0) {
    warn(kernel, `intel_iommu_domain_free: nest parent ${domain.id} still has ${dmar.s1_domains!.length} nested domains`);
    return;
  }
  if (dmar.devices.length > 0) {
    warn(kernel, `intel_iommu_domain_free: domain ${domain.id} still attached to ${dmar.devices.length} RIDs`);
    return;
  }
  const pt = dmar.pgtable!;
  pt.radix.freeTables();
  dmar.qi_batch = undefined;
  dmar.freed = true;
}

/** iommu.c: intel_fs_paging_domain_ops / intel_ss_paging_domain_ops: the same members here. */
const intel_paging_domain_ops: IommuDomainOps = Object.freeze({
  attach_dev: intel_iommu_attach_device,
  set_dev_pasid: intel_iommu_set_dev_pasid,
  free: intel_iommu_domain_free,
  map_pages: intel_iommu_map_pages,
  unmap_pages: intel_iommu_unmap_pages,
  iotlb_sync: intel_iommu_tlb_sync,
});

/**
 * iommu.c: intel_iommu_domain_alloc_paging_flags (v7.0-rc5): "Prefer first stage if possible
 * by default"; intel_iommu_domain_alloc_first_stage refuses any flag but ALLOC_PASID, so a
 * nest parent falls to intel_iommu_domain_alloc_second_stage (which needs SLTS).
 */
export function* intel_iommu_domain_alloc_paging_flags(dev: Device, flags: number): Co<Result<IommuDomain>> {
  const iommu: IntelIommu = dev_iommu_priv_get(dev).iommu;
  const first = (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) === 0 && iommu.flts;
  if (!first && !iommu.slts) return err('EOPNOTSUPP');
  const mem = iommu.kernel.mem;
  const radix = new Radix(mem, mem.alloc('table', KERNEL_OWNER), PAGING_LEVELS, KERNEL_OWNER);
  const domain: IommuDomain = {
    id: iommu.kernel.nextId('domain'), type: 'PAGING', ops: intel_paging_domain_ops, owner: intel_iommu_ops,
    mm: undefined, kernel: iommu.kernel, users: 0, container: undefined, freed: false,
  };
  const dmar: DmarDomain = {
    domain, notifier: undefined, dev_pasids: [], devices: [], cache_tags: [], qi_batch: undefined, freed: false,
    cache_lock: spin_lock_init(iommu.kernel, '&domain->cache_lock'), lock: spin_lock_init(iommu.kernel, '&domain->lock'),
    pgtable: { radix, levels: PAGING_LEVELS, first_stage: first }, iommu_array: new Map(),
    // intel_iommu_domain_alloc_second_stage: dmar_domain->nested_parent = flags & NEST_PARENT.
    ...(first ? {} : {
      nested_parent: (flags & IOMMU_HWPT_ALLOC_NEST_PARENT) !== 0, s1_domains: [], s1_lock: spin_lock_init(iommu.kernel, '&domain->s1_lock'),
    }),
  };
  domain.container = dmar;
  return ok(domain);
}
