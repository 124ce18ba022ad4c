/**
 * The SVA side of the AMD IOMMU driver, after drivers/iommu/amd/pasid.c (v6.19-rc): the SVA
 * protection domain with its embedded mmu notifier, set_dev_pasid (which refuses a
 * replacement), PASID removal, the notifier's invalidate and release, and the domain free,
 * which unregisters the notifier at once: release runs (if exit_mmap has not run it) and the
 * mm reference goes synchronously, with no SRCU-deferred free_notifier as on VT-d and SMMUv3.
 *
 * Domain sharing: nothing ties an SVA domain to one IOMMU (the flushes go through each
 * pdom_dev_data's own device), so the core's iommu_sva_bind_device reuses the mm's domain on
 * every AMD IOMMU: one SVA domain per mm.
 */
import { type Co } from '../core/sched.js';
import { err, ok, type Errno, type Result } from '../../shared/index.js';
import { dev_fault_param, iopf_queue_discard_dev_pasid, iopf_queue_flush_dev } from '../core/iopf.js';
import { noteFinding, warn } from '../core/kernel.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { mmu_notifier_register, mmu_notifier_unregister } from '../core/mmuNotifier.js';
import type { IommuDomainOps, MmuNotifierOps } from '../core/ops.js';
import type { Device, IommuDomain, MmStruct, MmuNotifier } from '../core/types.js';
import { amd_iommu_dev_flush_pasid_pages } from './cmd.js';
import { amd_iommu_clear_gcr3, amd_iommu_set_gcr3 } from './gcr3.js';
import { amd_iommu_int_thread_pprlog, ppr_irq } from './ppr.js';
import { amd_iommu_domain_free, protection_domain_alloc } from './iommu.js';
import { dev_iommu_priv_get, to_pdomain, type AmdIommu, type IommuDevData, type PdomDevData, type ProtectionDomain } from './structs.js';

/** is_pasid_enabled (v6.19-rc). */
const is_pasid_enabled = (dev_data: IommuDevData): boolean =>
  dev_data.pasid_enabled && dev_data.max_pasids > 0 && dev_data.gcr3_info.gcr3_tbl !== undefined;

/** is_pasid_valid (v6.19-rc): PASID 0 is the device's untagged traffic. */
const is_pasid_valid = (dev_data: IommuDevData, pasid: number): boolean => pasid > 0 && pasid < dev_data.max_pasids;

/** remove_dev_pasid (v6.19-rc): clear the GCR3 entry (and flush), unlink, kfree. */
function* remove_dev_pasid(pdom: ProtectionDomain, pdom_dev_data: PdomDevData): Co {
  yield* amd_iommu_clear_gcr3(pdom_dev_data.dev_data, pdom_dev_data.pasid);
  pdom.dev_data_list.splice(pdom.dev_data_list.indexOf(pdom_dev_data), 1);
}

/** remove_pdom_dev_pasid (v6.19-rc): the first (dev, pasid) entry, under pdom->lock. */
function* remove_pdom_dev_pasid(pdom: ProtectionDomain, dev: Device, pasid: number): Co {
  const dev_data = dev_iommu_priv_get(dev);
  const e = pdom.dev_data_list.find((p) => p.dev_data === dev_data && p.pasid === pasid);
  if (e !== undefined) yield* remove_dev_pasid(pdom, e);
}

/**
 * sva_arch_invalidate_secondary_tlbs (v6.19-rc): every attachment's device flushes its PASID
 * over [start, end): size end - start, one completion wait per device.
 */
function* sva_arch_invalidate_secondary_tlbs(mn: MmuNotifier, _mm: MmStruct, start: bigint, end: bigint): Co {
  const pdom = mn.container as ProtectionDomain;
  yield* spin_lock(pdom.lock);
  for (const p of pdom.dev_data_list) yield* amd_iommu_dev_flush_pasid_pages(p.dev_data, p.pasid, start, end - start);
  yield* spin_unlock(pdom.lock);
}

/**
 * sva_mn_release (v6.19-rc): exit_mmap, or the domain free's unregister: every attachment's
 * GCR3 entry is cleared (so DMA of the PASID faults from here on) and its pdom_dev_data freed.
 */
function* sva_mn_release(mn: MmuNotifier, _mm: MmStruct): Co {
  const pdom = mn.container as ProtectionDomain;
  yield* spin_lock(pdom.lock);
  for (const p of [...pdom.dev_data_list]) yield* remove_dev_pasid(pdom, p);
  yield* spin_unlock(pdom.lock);
}

/** sva_mn (v6.19-rc): no free_notifier; the domain's memory goes in iommu_sva_domain_free. */
export const sva_mn: MmuNotifierOps = Object.freeze({
  arch_invalidate_secondary_tlbs: sva_arch_invalidate_secondary_tlbs,
  release: sva_mn_release,
});

/**
 * iommu_sva_set_dev_pasid (v6.19-rc): a replacement (old set) is refused with -EOPNOTSUPP;
 * -EINVAL for PASID 0 or one beyond the device, or a device without PASID and a GCR3 table;
 * then pdom_dev_data's kzalloc (failing: -EINVAL too, ret is still -EINVAL there), the GCR3
 * entry for the mm's pgd (flushed), and the attachment at the head of the list.
 */
export function* iommu_sva_set_dev_pasid(domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const sva_pdom = to_pdomain(domain);
  const dev_data = dev_iommu_priv_get(dev);
  if (old !== undefined) return 'EOPNOTSUPP';
  if (!is_pasid_valid(dev_data, pasid)) return 'EINVAL';
  if (!is_pasid_enabled(dev_data)) return 'EINVAL';
  const kernel = dev_data.iommu.kernel;
  // pdom_dev_data = kzalloc(): ret is still -EINVAL.
  if (kernel.shouldFail('kzalloc@iommu_sva_set_dev_pasid')) return 'EINVAL';
  yield* spin_lock(sva_pdom.lock);
  // On failure pdom_dev_data is kfree'd: it was never on the list.
  const ret = yield* amd_iommu_set_gcr3(dev_data, pasid, domain.mm!.pgd.pgd);
  if (ret === 0) sva_pdom.dev_data_list.unshift({ pasid, dev_data });
  yield* spin_unlock(sva_pdom.lock);
  return ret;
}

/**
 * Whether a page request is still on its way: one in the IOMMU's PPR log (the proposed fix's
 * poll reports them all), one an IRQ thread has taken from the log and is reporting (which
 * that poll does not wait for: a concurrent unbind answered it after the GCR3 entry was gone,
 * run --groups 0.15), or one reported to the IOPF core and not yet responded to on a device of
 * this IOMMU (the IOPF queue's workqueue is per IOMMU). Iterated in devid order (a Map keeps
 * insertion order, the probe's).
 */
function iopf_pending(iommu: AmdIommu): boolean {
  if (iommu.unit.pprLog.pending.length > 0 || ppr_irq(iommu).inFlight > 0) return true;
  for (const d of iommu.devices.values()) {
    const param = dev_fault_param(d);
    if (param !== undefined && (param.faults.length > 0 || param.partial.length > 0)) return true;
  }
  return false;
}

/**
 * amd_iommu_remove_dev_pasid (v6.19-rc; unchanged in v7.0-rc5), the blocked domain's
 * set_dev_pasid: drop the (dev, pasid) attachment of `domain`, clearing its GCR3 entry. Upstream
 * flushes no page request here, although io-pgfault.c asks every driver to flush its low-level
 * queue and then iopf_queue_flush_dev before a PASID is released (VT-d's PRQ drain does both):
 * finding amd-remove-pasid-no-iopf-flush, whose proposed fix drains the PPR log and the IOPF
 * queue of a PPR device after the GCR3 entry is gone (no new request can then be logged).
 */
export function* amd_iommu_remove_dev_pasid(dev: Device, pasid: number, domain: IommuDomain | undefined): Co {
  const dev_data = dev_iommu_priv_get(dev);
  if (!is_pasid_valid(dev_data, pasid) || domain === undefined) return;
  const sva_pdom = to_pdomain(domain);
  const kernel = dev_data.iommu.kernel;
  // A request on its way when the removal starts may be answered while it runs, after the GCR3
  // entry is gone: the finding's path too, though nothing is pending at the end.
  const pendingBefore = dev_data.ppr && iopf_pending(dev_data.iommu);
  yield* spin_lock(sva_pdom.lock);
  yield* remove_pdom_dev_pasid(sva_pdom, dev, pasid);
  yield* spin_unlock(sva_pdom.lock);
  if (!dev_data.ppr) return;
  if (kernel.fixes.has('amd-remove-pasid-no-iopf-flush')) {
    // Through the PPR IRQ handler, so that an overflow is restarted as a poll alone would not.
    yield* amd_iommu_int_thread_pprlog(dev_data.iommu);
    // synchronize_irq on the PPR interrupt: the IRQ thread writes the head past an entry before
    // it reports it, so an entry taken before the GCR3 entry went may not be reported yet (the
    // poll above cannot see it). Without this wait its partial request outlived the discard
    // below (I-PRI-ONCE under `run --fix all`, a one-preemption schedule).
    yield* ppr_irq(dev_data.iommu).synchronize(kernel);
    if ((yield* iopf_queue_flush_dev(dev)) !== 0) warn(kernel, `iopf_queue_flush_dev: ${dev.hw.name} has no fault queue`);
    // As VT-d's drain: the partial requests of the PASID stay unless iopf-stale-partial's fix is on.
    iopf_queue_discard_dev_pasid(kernel, dev, pasid);
  } else if (pendingBefore || iopf_pending(dev_data.iommu)) noteFinding(kernel, 'amd-remove-pasid-no-iopf-flush');
}

/**
 * iommu_sva_domain_free (v6.19-rc): mmu_notifier_unregister (release if still hooked, then the
 * notifier's mmdrop, all synchronously), then amd_iommu_domain_free (the domain ID and the
 * memory).
 */
function* iommu_sva_domain_free(domain: IommuDomain): Co {
  const sva_pdom = to_pdomain(domain);
  if (sva_pdom.mn !== undefined) yield* mmu_notifier_unregister(sva_pdom.mn, domain.mm!);
  amd_iommu_domain_free(domain);
}

export const amd_sva_domain_ops: IommuDomainOps = Object.freeze({
  set_dev_pasid: iommu_sva_set_dev_pasid,
  free: iommu_sva_domain_free,
});

/**
 * amd_iommu_domain_alloc_sva (v6.19-rc): protection_domain_alloc (kzalloc, then a domain ID:
 * NULL → -ENOMEM either way), the SVA ops and notifier, then mmu_notifier_register.
 */
export function* amd_iommu_domain_alloc_sva(dev: Device, mm: MmStruct): Co<Result<IommuDomain>> {
  const kernel = dev_iommu_priv_get(dev).iommu.kernel;
  const pdom = protection_domain_alloc(kernel, 'SVA', amd_sva_domain_ops);
  if (pdom === undefined) return err('ENOMEM');
  const mn = pdom.initNotifier(sva_mn, mm);
  const ret = yield* mmu_notifier_register(mn, mm);
  if (ret !== 0) {
    amd_iommu_domain_free(pdom.domain);
    return err(ret);
  }
  kernel.trace?.event('driver', 'amd', `sva domain ${pdom.domain.id} (pdom id ${pdom.id}) for mm${mm.slot}`);
  return ok(pdom.domain);
}

