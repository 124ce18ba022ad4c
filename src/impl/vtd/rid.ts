/**
 * The RID side of the Intel IOMMU driver, after drivers/iommu/intel/iommu.c (v7.0): requests
 * without PASID are translated through the PASID table's IOMMU_NO_PASID entry (scalable mode),
 * which attach_dev writes. A paging domain's attach first blocks the device (its old entry
 * torn down, flushed and its page requests drained), then writes the new entry: a RID replace
 * is not hitless on VT-d. Blocking clears the entry; the identity domain, the default one, is
 * never written here (the harness has no pass-through DMA target, see hw/vtd/unit.ts).
 */
import type { Errno } from '../../shared/index.js';
import type { Co } from '../core/sched.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { noteFinding } from '../core/kernel.js';
import type { Device, IommuDomain } from '../core/types.js';
import { cache_tag_assign_domain, cache_tag_unassign_domain, domain_id_iommu, intel_domain_is_fs_paging, intel_domain_is_ss_paging } from './cache.js';
import { type DmarDomain, IOMMU_NO_PASID, WARN_ON, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';
import { domain_attach_iommu, domain_detach_iommu } from './did.js';
import { iopf_for_domain_remove, iopf_for_domain_set } from './iopf.js';
import { PASID_FLAG_FL5LP, __domain_setup_first_level, domain_setup_second_level, intel_pasid_setup_nested, intel_pasid_tear_down_entry } from './pasid.js';
import { paging_domain_compatible } from './paging.js';

/**
 * iommu.c: device_block_translation (v7.0): a device already blocking does nothing; otherwise
 * the RID domain's cache tags go, the IOMMU_NO_PASID entry is torn down (flushes and the PRQ
 * drain of a present one), and the device leaves the domain.
 */
export function* device_block_translation(dev: Device): Co {
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  if (!info.domain_attached) return;
  if (info.domain !== undefined) yield* cache_tag_unassign_domain(info.domain, dev, IOMMU_NO_PASID);
  yield* intel_pasid_tear_down_entry(iommu, dev, IOMMU_NO_PASID, false);
  info.domain_attached = false;
  const domain = info.domain;
  if (domain === undefined) return;
  yield* spin_lock(domain.lock);
  const i = domain.devices.indexOf(info);
  if (i >= 0) domain.devices.splice(i, 1);
  yield* spin_unlock(domain.lock);
  domain_detach_iommu(domain, iommu);
  info.domain = undefined;
}

/**
 * iommu.c: dmar_domain_attach_device (v7.0): the DID, the device on the domain's list, the
 * IOMMU_NO_PASID entry in the domain's form, then the cache tags; a failure after the DID
 * blocks the device again (out_block_translation). When the tags are what failed,
 * cache_tag_assign_domain has already unassigned the ones it took, and device_block_translation
 * unassigns the RID's tags once more: an IOTLB tag is shared by every device of the domain at
 * that (IOMMU, DID, PASID), so the second unassign drops another device's reference, and with it
 * the last one (finding vtd-rid-attach-tags-twice). And with ATS on from probe, the entry is live
 * before the tags: a concurrent unmap's flush misses what the device caches meanwhile (finding
 * vtd-rid-attach-tags-after-entry, noted by cache.ts cache_tag_flush_range). The proposed fix of
 * both assigns the tags right after the DID, as domain_add_dev_pasid does, and undoes only the
 * DID when they fail.
 */
function* dmar_domain_attach_device(domain: DmarDomain, dev: Device): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  let ret = domain_attach_iommu(domain, iommu);
  if (ret !== 0) return ret;
  // One proposed fix for two findings: the tags right after the DID.
  const fixed = iommu.kernel.fixes.has('vtd-rid-attach-tags-twice') || iommu.kernel.fixes.has('vtd-rid-attach-tags-after-entry');
  if (fixed) {
    ret = yield* cache_tag_assign_domain(domain, dev, IOMMU_NO_PASID);
    if (ret !== 0) {
      domain_detach_iommu(domain, iommu);
      return ret;
    }
  }
  info.domain = domain;
  info.domain_attached = true;
  yield* spin_lock(domain.lock);
  domain.devices.unshift(info);
  yield* spin_unlock(domain.lock);
  const pt = domain.pgtable!;
  const did = domain_id_iommu(domain, iommu);
  if (intel_domain_is_fs_paging(domain)) {
    ret = yield* __domain_setup_first_level(iommu, dev, IOMMU_NO_PASID, did, pt.radix.root, pt.levels === 5 ? PASID_FLAG_FL5LP : 0, false);
  } else if (intel_domain_is_ss_paging(domain)) {
    ret = yield* domain_setup_second_level(iommu, dev, IOMMU_NO_PASID, did, pt.radix.root, pt.levels, false);
  } else if (WARN_ON(iommu, true, 'dmar_domain_attach_device: not a paging domain')) ret = 'EINVAL';
  if (ret !== 0) {
    yield* device_block_translation(dev);
    return ret;
  }
  if (fixed) return 0;
  ret = yield* cache_tag_assign_domain(domain, dev, IOMMU_NO_PASID);
  if (ret !== 0) {
    if (sharesIotlbTag(domain, dev)) noteFinding(iommu.kernel, 'vtd-rid-attach-tags-twice');
    yield* device_block_translation(dev);
  }
  return ret;
}

/** Another device of `domain` holds the RID's IOTLB tag on dev's IOMMU (cache_tage_match: IOMMU, DID, PASID). */
const sharesIotlbTag = (domain: DmarDomain, dev: Device): boolean => {
  const iommu = dev_iommu_priv_get(dev).iommu;
  const did = domain_id_iommu(domain, iommu);
  return domain.cache_tags.some((t) => t.type === 'IOTLB' && t.iommu === iommu && t.domain_id === did && t.pasid === IOMMU_NO_PASID);
};

/**
 * iommu.c: intel_iommu_attach_device (v7.0), a paging domain's attach_dev, and nested.c:
 * intel_nested_attach_dev (v7.0), a nested domain's. Each blocks the device before anything
 * that can fail, and __iommu_group_set_domain_internal's err_revert does not revert the device
 * that failed: a failed RID replace leaves that device blocked while group->domain (and
 * iommufd) still say the old domain (finding vtd-rid-replace-blocks). The proposed fix puts the
 * device back on the domain it was blocked from.
 */
export function* intel_iommu_attach_device(domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0> {
  return yield* blockedOnFailure(dev, attach_device(domain, dev, old));
}

export function* intel_nested_attach_dev(domain: IommuDomain, dev: Device, _old: IommuDomain | undefined): Co<Errno | 0> {
  return yield* blockedOnFailure(dev, nested_attach_dev(to_dmar_domain(domain), dev));
}

/** The attach `body` of dev, and finding vtd-rid-replace-blocks when it fails on a device that had a domain. */
function* blockedOnFailure(dev: Device, body: Co<Errno | 0>): Co<Errno | 0> {
  const prev = dev_iommu_priv_get(dev).domain;
  const ret = yield* body;
  if (ret === 0 || prev === undefined) return ret;
  const kernel = dev_iommu_priv_get(dev).iommu.kernel;
  if (!kernel.fixes.has('vtd-rid-replace-blocks')) noteFinding(kernel, 'vtd-rid-replace-blocks');
  else {
    const back = prev.domain.type === 'NESTED' ? yield* nested_attach_dev(prev, dev) : yield* dmar_domain_attach_device(prev, dev);
    WARN_ON(dev_iommu_priv_get(dev).iommu, back !== 0, 'intel_iommu_attach_device: old domain not restored');
  }
  return ret;
}

/**
 * The mainline body of intel_nested_attach_dev after its device_block_translation: the parent's
 * compatibility with this IOMMU (a stage-1 domain cannot work alone), the DID, the cache tags
 * (the parent's NESTING ones with them), IOPF, then the nested IOMMU_NO_PASID entry, with a goto
 * ladder back; only then the device's domain and the domain's device list.
 */
function* nested_attach_dev(domain: DmarDomain, dev: Device): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  yield* device_block_translation(dev);
  const s2 = domain.s2_domain!;
  let ret = paging_domain_compatible(s2, dev);
  if (ret !== 0) return ret;
  ret = domain_attach_iommu(domain, iommu);
  if (ret !== 0) return ret;
  ret = yield* cache_tag_assign_domain(domain, dev, IOMMU_NO_PASID);
  if (ret === 0) {
    ret = yield* iopf_for_domain_set(domain.domain, dev);
    if (ret === 0) {
      const cfg = domain.s1_cfg!;
      const pt = s2.pgtable!;
      ret = yield* intel_pasid_setup_nested(iommu, dev, IOMMU_NO_PASID, domain_id_iommu(domain, iommu), cfg.pgtbl_addr, cfg.addr_width, pt.radix.root, pt.levels);
      if (ret === 0) {
        info.domain = domain;
        info.domain_attached = true;
        yield* spin_lock(domain.lock);
        domain.devices.unshift(info);
        yield* spin_unlock(domain.lock);
        return 0;
      }
      yield* iopf_for_domain_remove(domain.domain, dev); // disable_iopf
    }
    yield* cache_tag_unassign_domain(domain, dev, IOMMU_NO_PASID); // unassign_tag
  }
  domain_detach_iommu(domain, iommu); // detach_iommu
  return ret;
}

/** The mainline body of intel_iommu_attach_device. */
function* attach_device(domain: IommuDomain, dev: Device, _old: IommuDomain | undefined): Co<Errno | 0> {
  yield* device_block_translation(dev);
  let ret = paging_domain_compatible(to_dmar_domain(domain), dev);
  if (ret !== 0) return ret;
  ret = yield* iopf_for_domain_set(domain, dev);
  if (ret !== 0) return ret;
  ret = yield* dmar_domain_attach_device(to_dmar_domain(domain), dev);
  if (ret !== 0) yield* iopf_for_domain_remove(domain, dev);
  return ret;
}

/** iommu.c: blocking_domain_attach_dev (v7.0): IOPF off for the RID domain (none has a handler here), then block. */
export function* blocking_domain_attach_dev(_domain: IommuDomain, dev: Device, _old: IommuDomain | undefined): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  yield* iopf_for_domain_remove(info.domain?.domain, dev);
  yield* device_block_translation(dev);
  return 0;
}
