/**
 * The Intel IOMMU driver's ops and probe, after drivers/iommu/intel/iommu.c (v6.17): the
 * iommu_ops the core calls (domain_alloc_sva, the static blocking domain whose set_dev_pasid
 * is the PASID detach path), domain_add/remove_dev_pasid, and probing of DMAR units and
 * devices onto the emulated VT-d hardware.
 */
import type { Errno } from '../../shared/index.js';
import type { Co } from '../core/sched.js';
import { mutex_lock, mutex_unlock, spin_lock, spin_unlock } from '../core/locking.js';
import { VtdUnit } from '../../hw/vtd/unit.js';
import type { IommuOps } from '../core/ops.js';
import type { Device, IommuDomain, IommuDriver, ProbeContext } from '../core/types.js';
import { cache_tag_assign_domain, cache_tag_unassign_domain } from './cache.js';
import { type DeviceDomainInfo, IntelIommu, WARN_ON, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';
import { iopf_for_domain_remove } from './iopf.js';
import { intel_leak_check } from './leaks.js';
import { intel_pasid_alloc_table, intel_pasid_tear_down_entry } from './pasid.js';
import { intel_iommu_enable_prq, intel_iommu_page_response, pasid_mutex, pasid_mutex_held_across_drain } from './prq.js';
import { noteFinding } from '../core/kernel.js';
import { intel_svm_domain_alloc } from './svm.js';
import { domain_attach_iommu, domain_detach_iommu } from './did.js';
import { intel_iommu_domain_alloc_paging_flags } from './paging.js';
import { intel_iommu_domain_alloc_nested } from './nested.js';
import { blocking_domain_attach_dev } from './rid.js';


/**
 * iommu.c: domain_add_dev_pasid (v7.0-rc5): kzalloc the dev_pasid, take the DID on the
 * device's IOMMU (domain_attach_iommu: a no-op for SVA), assign the cache tags, then link the
 * dev_pasid (list_add: at the head); undone in reverse on error (out_detach_iommu, out_free).
 */
export function* domain_add_dev_pasid(domain: IommuDomain, dev: Device, pasid: number): Co<Errno | 0> {
  const dmar = to_dmar_domain(domain);
  const iommu = dev_iommu_priv_get(dev).iommu;
  if (iommu.kernel.shouldFail('kzalloc@domain_add_dev_pasid')) return 'ENOMEM';
  const ret = domain_attach_iommu(dmar, iommu);
  if (ret !== 0) return ret;
  const tags = yield* cache_tag_assign_domain(dmar, dev, pasid);
  if (tags !== 0) {
    domain_detach_iommu(dmar, iommu);
    return tags;
  }
  yield* spin_lock(dmar.lock);
  dmar.dev_pasids.unshift({ dev, pasid });
  yield* spin_unlock(dmar.lock);
  return 0;
}

/** iommu.c: domain_remove_dev_pasid (v7.0-rc5): unlink the dev_pasid, drop its cache tags and its DID reference. */
export function* domain_remove_dev_pasid(domain: IommuDomain | undefined, dev: Device, pasid: number): Co {
  if (domain === undefined || domain.type === 'BLOCKED') return;
  const dmar = to_dmar_domain(domain);
  yield* spin_lock(dmar.lock);
  const i = dmar.dev_pasids.findIndex((p) => p.dev === dev && p.pasid === pasid);
  if (i >= 0) dmar.dev_pasids.splice(i, 1);
  yield* spin_unlock(dmar.lock);
  yield* cache_tag_unassign_domain(dmar, dev, pasid);
  domain_detach_iommu(dmar, dev_iommu_priv_get(dev).iommu);
  WARN_ON(dev_iommu_priv_get(dev).iommu, i < 0, `domain_remove_dev_pasid: ${dev.hw.name} PASID ${pasid} not attached`);
}

/**
 * iommu.c: blocking_domain_set_dev_pasid (v6.17, unchanged to v7.0-rc5): the PASID detach. Tear
 * the entry down (flushes and PRQ drain included), stop IOPF for the old domain, then forget the
 * attachment. Since 39c20c4e83b9 the attach enables IOPF only on a PRI device, but this still
 * disables it for every SVA domain: on a device without PRI intel_iommu_disable_iopf WARNs
 * (finding vtd-iopf-remove-nonpri, fixed upstream by 534b5f98ab73 in the iopf helpers).
 */
function* blocking_domain_set_dev_pasid(_domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  const kernel = info.iommu.kernel;
  // B05, R01: before 6ef0505158f7 (v5.15-rc1) intel_svm_unbind held pasid_mutex across the
  // entry teardown and intel_svm_drain_prq, whose iopf_queue_flush_dev waits for fault work
  // that answers through intel_svm_page_response, which takes pasid_mutex too (the fix drops
  // it around the flush).
  const old_locking = pasid_mutex_held_across_drain(kernel);
  if (old_locking) yield* mutex_lock(pasid_mutex(kernel));
  yield* intel_pasid_tear_down_entry(info.iommu, dev, pasid, false);
  if (old_locking) yield* mutex_unlock(pasid_mutex(kernel));
  // With the fix on (534b5f98ab73) iopf_for_domain_remove itself skips what the attach skipped.
  if (!kernel.fixes.has('vtd-iopf-remove-nonpri') && !info.pri_supported && old?.type === 'SVA') noteFinding(kernel, 'vtd-iopf-remove-nonpri');
  yield* iopf_for_domain_remove(old, dev);
  yield* domain_remove_dev_pasid(old, dev, pasid);
  return 0;
}

/** iommu.c: intel_iommu_ops, the members SVA and iommufd PASID attach use. The blocking domain is static. */
export const intel_iommu_ops: IommuOps = {
  name: 'intel-iommu',
  domain_alloc_sva: (dev, mm) => intel_svm_domain_alloc(dev, mm),
  domain_alloc_paging_flags: (dev, flags) => intel_iommu_domain_alloc_paging_flags(dev, flags),
  domain_alloc_nested: (dev, parent, flags, data) => intel_iommu_domain_alloc_nested(dev, parent, flags, data),
  page_response: intel_iommu_page_response,
  get blocked_domain(): IommuDomain {
    return blocking_domain;
  },
  get identity_domain(): IommuDomain {
    return identity_domain;
  },
};

/** iommu.c: blocking_domain (static; never freed, never holds state). */
const blocking_domain: IommuDomain = Object.freeze({
  id: -1, type: 'BLOCKED', owner: intel_iommu_ops, mm: undefined, users: 0, container: undefined, freed: false,
  ops: Object.freeze({ set_dev_pasid: blocking_domain_set_dev_pasid, attach_dev: blocking_domain_attach_dev, free: function* (): Co {} }),
}) as IommuDomain;

/**
 * iommu.c: identity_domain (static), the default domain. The harness never attaches it again
 * (DMA ownership, once iommufd takes it, is kept), so it has no attach_dev here: its
 * intel_pasid_setup_pass_through would write the pass-through entry no emulated DMA uses.
 */
const identity_domain: IommuDomain = Object.freeze({
  id: -2, type: 'IDENTITY', owner: intel_iommu_ops, mm: undefined, users: 0, container: undefined, freed: false,
  ops: Object.freeze({ set_dev_pasid: undefined, free: function* (): Co {} }),
}) as unknown as IommuDomain;

/**
 * The VT-d platform: probing a DMAR unit creates its emulated hardware; probing a device
 * (intel_iommu_probe_device + probe_finalize) sets up its device_domain_info, enables PASID,
 * ATS and PRI as the hardware allows, allocates its PASID table and programs the context entry.
 */
export const intelIommuDriver: IommuDriver = Object.freeze({
  platform: 'vtd',
  probeIommu(ctx: ProbeContext, index: number): IntelIommu {
    const spec = ctx.topology.iommus[index];
    if (spec === undefined) throw new Error(`no IOMMU ${index} in the topology`);
    const iommu = new IntelIommu(ctx, index, new VtdUnit(index, spec, ctx.mem, ctx.trace), intel_iommu_ops);
    intel_iommu_enable_prq(iommu);
    return iommu;
  },
  probeDevice(_ctx: ProbeContext, dev: Device): void {
    const iommu = dev.iommu as IntelIommu;
    const hw = dev.hw;
    const pasid = hw.pasidBits > 0 && iommu.unit.pasidBits > 0;
    const info: DeviceDomainInfo = {
      dev, iommu, sid: hw.sid, pfsid: hw.sid, pasid_table: undefined,
      pasid_supported: pasid, pasid_enabled: pasid,
      ats_supported: hw.ats, ats_enabled: hw.ats, ats_qdep: 32,
      pri_supported: hw.pri, pri_enabled: hw.pri && hw.ats, iopf_refcount: 0,
      dtlb_extra_inval: false, domain: undefined,
      // identity_domain_attach_dev: the default domain is attached (no pass-through entry is written here).
      domain_attached: true,
    };
    dev.priv = info;
    intel_pasid_alloc_table(info, hw.maxPasids);
    iommu.device_rbtree.set(info.sid, dev);
    // context_set_sm_pre for a device that supports PRI: its page requests reach the PRQ.
    iommu.unit.setContext(hw, info.pasid_table!, info.pri_supported);
  },
  leakCheck: intel_leak_check,
});
