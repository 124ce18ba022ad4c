/**
 * Shared virtual memory for VT-d, after drivers/iommu/intel/svm.c (v6.17; unchanged to v7.0-rc5,
 * which takes no lock of its own here: the pasid_mutex of the old bind/unbind code is gone): the SVA domain
 * (one per mm, usable behind every Intel IOMMU since it needs no DID), its set_dev_pasid, and
 * the mmu notifier that keeps the IOMMU caches in step with the mm.
 */
import type { Co } from '../core/sched.js';
import { spin_lock, spin_lock_init, spin_unlock } from '../core/locking.js';
import type { Errno, Result } from '../../shared/index.js';
import { ULONG_MAX, err, ok } from '../../shared/index.js';
import { mmu_notifier_put, mmu_notifier_register } from '../core/mmuNotifier.js';
import type { IommuDomainOps, MmuNotifierOps } from '../core/ops.js';
import type { Device, IommuDomain, MmStruct, MmuNotifier } from '../core/types.js';
import { cache_tag_flush_all, cache_tag_flush_range } from './cache.js';
import { type DmarDomain, FLPT_DEFAULT_DID, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';
import { domain_add_dev_pasid, domain_remove_dev_pasid, intel_iommu_ops } from './iommu.js';
import { iopf_for_domain_replace } from './iopf.js';
import { PASID_FLAG_FL5LP, __domain_setup_first_level, intel_pasid_tear_down_entry } from './pasid.js';

const dmarOf = (mn: MmuNotifier): DmarDomain => mn.container as DmarDomain;

/** svm.c: intel_arch_invalidate_secondary_tlbs. "Pages have been freed at this point." */
function* intel_arch_invalidate_secondary_tlbs(mn: MmuNotifier, _mm: MmStruct, start: bigint, end: bigint): Co {
  const domain = dmarOf(mn);
  if (start === 0n && end === ULONG_MAX) return yield* cache_tag_flush_all(domain);
  // vm_end is the first byte after the range; the IOMMU code takes the last byte.
  yield* cache_tag_flush_range(domain, start, end - 1n, false);
}

/**
 * svm.c: intel_mm_release. From exit_mmap, before the page tables are freed: every PASID entry
 * of the domain is torn down with FPD kept, so the hardware stops walking the tables that are
 * about to go and blocks DMA without reporting faults.
 */
function* intel_mm_release(mn: MmuNotifier, _mm: MmStruct): Co {
  const domain = dmarOf(mn);
  // spin_lock_irqsave(&domain->lock): the walk of dev_pasids, and every teardown in it, atomic.
  yield* spin_lock(domain.lock);
  for (const dev_pasid of [...domain.dev_pasids]) {
    const info = dev_iommu_priv_get(dev_pasid.dev);
    yield* intel_pasid_tear_down_entry(info.iommu, dev_pasid.dev, dev_pasid.pasid, true);
  }
  yield* spin_unlock(domain.lock);
}

/** svm.c: intel_mm_free_notifier: the deferred kfree of the qi_batch and the domain. */
function* intel_mm_free_notifier(mn: MmuNotifier): Co {
  const domain = dmarOf(mn);
  domain.qi_batch = undefined;
  domain.freed = true;
}

/** svm.c: intel_mmuops. */
export const intel_mmuops: MmuNotifierOps = Object.freeze({
  release: intel_mm_release,
  arch_invalidate_secondary_tlbs: intel_arch_invalidate_secondary_tlbs,
  free_notifier: intel_mm_free_notifier,
});

/**
 * svm.c: intel_iommu_sva_supported (v6.17). -EINVAL without driver data or without PASID and
 * ATS enabled, -ENODEV on an IOMMU that is not SVM capable; a PRI-capable device must have PRI
 * enabled (a device without PRI is trusted to handle its faults itself).
 */
export function intel_iommu_sva_supported(dev: Device): Errno | 0 {
  const info = dev.priv === undefined ? undefined : dev_iommu_priv_get(dev);
  if (info === undefined) return 'EINVAL';
  if (!info.iommu.svm_capable) return 'ENODEV';
  if (!info.pasid_enabled || !info.ats_enabled) return 'EINVAL';
  if (!info.pri_supported) return 0;
  return info.pri_enabled ? 0 : 'EINVAL';
}

/**
 * svm.c: intel_svm_set_dev_pasid (v7.0-rc5: 39c20c4e83b9 "Only handle IOPF for SVA when PRI is
 * supported"; __domain_setup_first_level after c3b1edea3791). Tags the domain for (dev, pasid)
 * with FLPT_DEFAULT_DID, enables IOPF on a PRI device, then writes a first-level PASID entry
 * pointing at the mm's pgd; unwinds in reverse on failure.
 */
function* intel_svm_set_dev_pasid(domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const ret = intel_iommu_sva_supported(dev);
  if (ret !== 0) return ret;
  const info = dev_iommu_priv_get(dev);
  const iommu = info.iommu;
  const mm = domain.mm!;
  const added = yield* domain_add_dev_pasid(domain, dev, pasid);
  if (added !== 0) return added;
  // B17: before 39c20c4e83b9 (v7.0-rc5) IOPF was set up for every device, and a device without
  // PRI (device-specific IOPF, a86fb7717320) failed the attach with -ENODEV.
  // With the fix of vtd-iopf-remove-nonpri on (534b5f98ab73) the test lives in the helpers.
  const iopf = info.pri_supported || iommu.kernel.fault === 'B17' || iommu.kernel.fixes.has('vtd-iopf-remove-nonpri');
  if (iopf) {
    const r = yield* iopf_for_domain_replace(domain, old, dev);
    if (r !== 0) {
      yield* domain_remove_dev_pasid(domain, dev, pasid);
      return r;
    }
  }
  const sflags = mm.pgd.levels === 5 ? PASID_FLAG_FL5LP : 0;
  const r = yield* __domain_setup_first_level(iommu, dev, pasid, FLPT_DEFAULT_DID, mm.pgd.pgd, sflags, old !== undefined);
  if (r !== 0) {
    if (iopf) yield* iopf_for_domain_replace(old, domain, dev);
    yield* domain_remove_dev_pasid(domain, dev, pasid);
    return r;
  }
  yield* domain_remove_dev_pasid(old, dev, pasid);
  return 0;
}

/** svm.c: intel_svm_domain_free: "dmar_domain free is deferred to the mmu free_notifier callback." */
function* intel_svm_domain_free(domain: IommuDomain): Co {
  yield* mmu_notifier_put(to_dmar_domain(domain).notifier!);
}

/** svm.c: intel_svm_domain_ops. */
export const intel_svm_domain_ops: IommuDomainOps = Object.freeze({
  set_dev_pasid: intel_svm_set_dev_pasid,
  free: intel_svm_domain_free,
});

/**
 * svm.c: intel_svm_domain_alloc (v6.17): the device must support SVA, then a dmar_domain
 * (its kzalloc is the 'domain' fault-injection site) whose notifier is registered on the mm. The
 * core sets domain->mm and takes its mmgrab afterwards (iommu_sva_domain_alloc).
 */
export function* intel_svm_domain_alloc(dev: Device, mm: MmStruct): Co<Result<IommuDomain>> {
  const ret = intel_iommu_sva_supported(dev);
  if (ret !== 0) return err(ret);
  if (mm.kernel.shouldFail('kzalloc@intel_svm_domain_alloc')) return err('ENOMEM');
  const domain: IommuDomain = {
    id: mm.kernel.nextId('domain'), type: 'SVA', ops: intel_svm_domain_ops, owner: intel_iommu_ops,
    mm: undefined, users: 0, container: undefined, freed: false,
  };
  const dmar: DmarDomain = {
    domain, notifier: undefined, dev_pasids: [], devices: [], cache_tags: [], qi_batch: undefined, freed: false,
    cache_lock: spin_lock_init(mm.kernel, '&domain->cache_lock'), lock: spin_lock_init(mm.kernel, '&domain->lock'),
  };
  domain.container = dmar;
  const notifier: MmuNotifier = { ops: intel_mmuops, mm, container: dmar, users: 0, hooked: false, freed: false };
  const r = yield* mmu_notifier_register(notifier, mm);
  if (r !== 0) return err(r);
  dmar.notifier = notifier;
  return ok(domain);
}
