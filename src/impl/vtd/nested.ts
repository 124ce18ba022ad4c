/**
 * Nested domains at a PASID, after drivers/iommu/intel/nested.c (v7.0, c3b1edea3791's
 * domain_setup_nested): a user (guest) stage-1 table over a nest parent's second stage.
 * The domain has no page table of its own: it holds the user's IOMMU_HWPT_DATA_VTD_S1, gets a
 * DID of its own per IOMMU, and its cache tags sit on itself (the guest's invalidations reach
 * them through IOMMU_HWPT_INVALIDATE) and, as NESTING_* tags, on the parent (the host's
 * unmaps from the parent reach them through the parent's flush).
 */
import { ULONG_MAX, err, ok, type Errno, type Result } from '../../shared/index.js';
import type { Co } from '../core/sched.js';
import { spin_lock, spin_unlock, spin_lock_init } from '../core/locking.js';
import {
  IOMMU_VTD_INV_FLAGS_LEAF, type IommuDomainOps, type IommuHwptVtdS1, type IommuUserDataArray,
} from '../core/ops.js';
import type { Device, IommuDomain } from '../core/types.js';
import { cache_tag_flush_range, domain_id_iommu, intel_domain_is_ss_paging } from './cache.js';
import { type DmarDomain, type IntelIommu, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';
import { domain_add_dev_pasid, domain_remove_dev_pasid, intel_iommu_ops } from './iommu.js';
import { iopf_for_domain_replace } from './iopf.js';
import { domain_setup_nested } from './pasid.js';
import { paging_domain_compatible } from './paging.js';
import { intel_nested_attach_dev } from './rid.js';

/** include/uapi/linux/iommufd.h: IOMMU_HWPT_ALLOC_PASID, the only flag a nested domain takes. */
const IOMMU_HWPT_ALLOC_PASID = 1 << 3;
const U64_MAX = (1n << 64n) - 1n;
const VTD_PAGE_SHIFT = 12n;

/** iommu.h: nrpages_to_size: npages << VTD_PAGE_SHIFT, in unsigned long (wraps). */
const nrpages_to_size = (npages: bigint): bigint => (npages << VTD_PAGE_SHIFT) & ULONG_MAX;

/**
 * nested.c: intel_nested_set_dev_pasid (v7.0). The checks (PASID support; a dirty-tracking
 * parent, a copied context, a sub-device: none here), the parent's compatibility with this
 * IOMMU, then as for a paging domain: the dev_pasid with the DID and cache tags (both halves),
 * IOPF (none: a nested domain has no fault handler here), the entry (tearing the old one down
 * on a replacement), and only then the old domain's bookkeeping.
 */
function* intel_nested_set_dev_pasid(domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  const dmar = to_dmar_domain(domain);
  const s2 = dmar.s2_domain!;
  if (iommu.unit.pasidBits === 0) return 'EOPNOTSUPP'; // !pasid_supported(iommu)
  let ret = paging_domain_compatible(s2, dev);
  if (ret !== 0) return ret;
  ret = yield* domain_add_dev_pasid(domain, dev, pasid);
  if (ret !== 0) return ret;
  ret = yield* iopf_for_domain_replace(domain, old, dev);
  if (ret !== 0) {
    yield* domain_remove_dev_pasid(domain, dev, pasid);
    return ret;
  }
  const cfg = dmar.s1_cfg!;
  const pt = s2.pgtable!;
  ret = yield* domain_setup_nested(iommu, dev, pasid, domain_id_iommu(dmar, iommu), cfg.pgtbl_addr, cfg.addr_width, pt.radix.root, pt.levels, old !== undefined);
  if (ret !== 0) {
    yield* iopf_for_domain_replace(old, domain, dev);
    yield* domain_remove_dev_pasid(domain, dev, pasid);
    return ret;
  }
  yield* domain_remove_dev_pasid(old, dev, pasid);
  return 0;
}

/** nested.c: intel_nested_domain_free: off the parent's s1_domains, then freed. */
function* intel_nested_domain_free(domain: IommuDomain): Co {
  const dmar = to_dmar_domain(domain);
  const s2 = dmar.s2_domain!;
  yield* spin_lock(s2.s1_lock!);
  const i = s2.s1_domains!.indexOf(dmar);
  if (i >= 0) s2.s1_domains!.splice(i, 1);
  yield* spin_unlock(s2.s1_lock!);
  dmar.freed = true;
  domain.freed = true;
}

/**
 * nested.c: intel_nested_cache_invalidate_user (v7.0): each request in turn: a flag other than
 * LEAF is -EOPNOTSUPP, an unaligned address (or "everything" from a non-zero address) -EINVAL,
 * and it stops there; a valid one flushes [addr, addr + npages * 4 KiB - 1] through the nested
 * domain's own cache tags (P_IOTLB with its DID and the PASID, the devTLB by PASID), LEAF as
 * the invalidation hint. entry_num says how many were processed.
 */
function* intel_nested_cache_invalidate_user(domain: IommuDomain, array: IommuUserDataArray): Co<Errno | 0> {
  const dmar = to_dmar_domain(domain);
  let processed = 0;
  let ret: Errno | 0 = 0;
  for (const inv of array.entries) {
    if ((inv.flags & ~IOMMU_VTD_INV_FLAGS_LEAF) !== 0) {
      ret = 'EOPNOTSUPP';
      break;
    }
    if ((inv.addr & 0xfffn) !== 0n || (inv.npages === U64_MAX && inv.addr !== 0n)) {
      ret = 'EINVAL';
      break;
    }
    yield* cache_tag_flush_range(dmar, inv.addr, (inv.addr + nrpages_to_size(inv.npages) - 1n) & ULONG_MAX, (inv.flags & IOMMU_VTD_INV_FLAGS_LEAF) !== 0);
    processed++;
  }
  array.entry_num = processed;
  return ret;
}

/** nested.c: intel_nested_domain_ops; attach_dev, the RID's, is in rid.ts with the paging domains'. */
const intel_nested_domain_ops: IommuDomainOps = Object.freeze({
  attach_dev: intel_nested_attach_dev,
  set_dev_pasid: intel_nested_set_dev_pasid,
  free: intel_nested_domain_free,
  cache_invalidate_user: intel_nested_cache_invalidate_user,
});

/**
 * nested.c: intel_iommu_domain_alloc_nested (v7.0): -EOPNOTSUPP without nesting support or
 * with a flag other than ALLOC_PASID; -EINVAL unless the parent is a second-stage domain
 * allocated as a nest parent. The domain goes on the parent's s1_domains. (Its kzalloc is no
 * fault-injection site here: iommufd allocates HWPTs outside the bind path the sites cover.)
 * domain->owner is iommufd's to set (iommufd_hwpt_nested_alloc); it starts as this driver's.
 */
export function* intel_iommu_domain_alloc_nested(dev: Device, parent: IommuDomain, flags: number, data: IommuHwptVtdS1): Co<Result<IommuDomain>> {
  const iommu: IntelIommu = dev_iommu_priv_get(dev).iommu;
  const s2 = to_dmar_domain(parent);
  if (!iommu.nest || (flags & ~IOMMU_HWPT_ALLOC_PASID) !== 0) return err('EOPNOTSUPP');
  if (!intel_domain_is_ss_paging(s2) || s2.nested_parent !== true) return err('EINVAL');
  const domain: IommuDomain = {
    id: iommu.kernel.nextId('domain'), type: 'NESTED', ops: intel_nested_domain_ops, owner: intel_iommu_ops,
    mm: undefined, kernel: iommu.kernel, users: 0, container: undefined, freed: false,
  };
  const dmar: DmarDomain = {
    domain, notifier: undefined, dev_pasids: [], devices: [], cache_tags: [], qi_batch: undefined, freed: false,
    cache_lock: spin_lock_init(iommu.kernel, '&domain->cache_lock'), lock: spin_lock_init(iommu.kernel, '&domain->lock'),
    iommu_array: new Map(), s2_domain: s2, s1_cfg: data,
  };
  domain.container = dmar;
  yield* spin_lock(s2.s1_lock!);
  s2.s1_domains!.unshift(dmar);
  yield* spin_unlock(s2.s1_lock!);
  return ok(domain);
}
