/**
 * The AMD IOMMU driver's probe, ops table and RID domains, after drivers/iommu/amd/iommu.c
 * and init.c (v6.19-rc): one emulated unit per topology IOMMU (max_pasids = 2^(PASmax+1) - 1,
 * a PPR log and IOPF queue), amd_iommu_probe_device, the identity default domain's attach
 * (attach_device: a GCR3 table for a PASID-capable device, ATS/PASID/PRI enabled, the IOPF
 * queue, the DTE), detach_device, protection_domain_alloc, amd_iommu_domain_free and the
 * blocked domain whose set_dev_pasid removes a PASID.
 */
import { sync, type Co } from '../core/sched.js';
import { mutex_init, mutex_lock, mutex_unlock, spin_lock, spin_lock_init, spin_unlock } from '../core/locking.js';
import { AmdIommuUnit } from '../../hw/amd/index.js';
import { type Errno, prqEntries } from '../../shared/index.js';
import { iopf_queue_flush_dev } from '../core/iopf.js';
import { warn } from '../core/kernel.js';
import type { IommuDomainOps, IommuOps } from '../core/ops.js';
import type { Device, DomainType, IommuDomain, IommuDriver, Kernel, ProbeContext } from '../core/types.js';
import { amd_iommu_domain_flush_all, iommu_completion_wait } from './cmd.js';
import { dev_update_dte, free_gcr3_table, setup_gcr3_table } from './gcr3.js';
import { amd_iommu_leak_check } from './leaks.js';
import { amd_iommu_domain_alloc_sva, amd_iommu_remove_dev_pasid } from './pasid.js';
import { amd_iommu_pdom_id_alloc, amd_iommu_pdom_id_free } from './pdomIds.js';
import { amd_iommu_iopf_add_device, amd_iommu_iopf_init, amd_iommu_iopf_remove_device, amd_iommu_page_response } from './ppr.js';
import { ProtectionDomain, to_pdomain, type AmdIommu, type IommuDevData } from './structs.js';

/** blocked_domain_set_dev_pasid (v6.19-rc). */
function* blocked_domain_set_dev_pasid(_domain: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  yield* amd_iommu_remove_dev_pasid(dev, pasid, old);
  return 0;
}

const blocked_ops: IommuDomainOps = Object.freeze({
  set_dev_pasid: blocked_domain_set_dev_pasid,
  free: function* () {}, // a static domain
});

/** amd_iommu_ops (v6.19-rc), the members SVA uses. */
export const amd_iommu_ops: IommuOps = Object.freeze({
  name: 'amd-iommu',
  domain_alloc_sva: amd_iommu_domain_alloc_sva,
  page_response: amd_iommu_page_response,
  get blocked_domain(): IommuDomain {
    return blocked_domain;
  },
});

/** blocked_domain (v6.19-rc): static, id -1. */
const blocked_domain: IommuDomain = {
  id: -1, type: 'BLOCKED', ops: blocked_ops, owner: amd_iommu_ops, mm: undefined, users: 0, container: undefined, freed: false,
};

/** protection_domain_alloc (v6.19-rc): kzalloc, then a domain ID; NULL when either fails. */
export function protection_domain_alloc(kernel: Kernel, type: DomainType, ops: IommuDomainOps): ProtectionDomain | undefined {
  if (kernel.shouldFail('kzalloc@protection_domain_alloc')) return undefined; // kzalloc_obj
  const domid = amd_iommu_pdom_id_alloc(kernel);
  if (domid <= 0) return undefined;
  return new ProtectionDomain(kernel, domid, kernel.nextId('domain'), type, ops, amd_iommu_ops);
}

/** amd_iommu_domain_free (v6.19-rc): WARN if devices are still attached, free the ID, kfree. */
export function amd_iommu_domain_free(dom: IommuDomain): void {
  const domain = to_pdomain(dom);
  const kernel = domain.mn?.mm.kernel;
  if (domain.dev_list.length > 0 && kernel !== undefined) warn(kernel, `amd_iommu_domain_free: domain ${domain.id} still has devices`);
  if (kernel !== undefined) amd_iommu_pdom_id_free(kernel, domain.id);
  domain.freed = true;
}

/** The identity domain (amd_iommu_init_identity_domain), one per world, with its own domain ID. */
const identityDomains = new WeakMap<Kernel, ProtectionDomain>();
/** identity_domain_ops has no set_dev_pasid (NULL in C): the core never attaches it to a PASID. */
const identity_ops: IommuDomainOps = Object.freeze({ set_dev_pasid: function* (): Co<Errno> { return 'EOPNOTSUPP'; }, free: function* () {} });
function identity_domain(kernel: Kernel): ProtectionDomain {
  let d = identityDomains.get(kernel);
  if (d === undefined) identityDomains.set(kernel, (d = new ProtectionDomain(kernel, amd_iommu_pdom_id_alloc(kernel), -2, 'IDENTITY', identity_ops, amd_iommu_ops)));
  return d;
}

/** pdom_attach_iommu / pdom_detach_iommu (v6.19-rc): the domain's per-IOMMU refcount, under pdom->lock. */
function* pdom_attach_iommu(iommu: AmdIommu, pdom: ProtectionDomain): Co {
  yield* spin_lock(pdom.lock);
  const info = pdom.iommu_array.get(iommu.index);
  if (info !== undefined) info.refcnt++;
  else pdom.iommu_array.set(iommu.index, { iommu, refcnt: 1 });
  yield* spin_unlock(pdom.lock);
}
function* pdom_detach_iommu(iommu: AmdIommu, pdom: ProtectionDomain): Co {
  yield* spin_lock(pdom.lock);
  const info = pdom.iommu_array.get(iommu.index);
  if (info !== undefined && --info.refcnt === 0) pdom.iommu_array.delete(iommu.index);
  yield* spin_unlock(pdom.lock);
}

/**
 * init_gcr3_table (v6.19-rc) for the identity domain (pass-through mode): a GCR3 table only for
 * a PASID-capable device, sized for its max PASIDs; GCR3[0] stays empty (not a v2 domain).
 */
function init_gcr3_table(dev_data: IommuDevData): Errno | 0 {
  if (dev_data.max_pasids === 0) return 0;
  return setup_gcr3_table(dev_data, dev_data.max_pasids);
}

/**
 * pdev_enable_caps (v6.19-rc): ATS when the IOMMU and the endpoint support it (queue depth
 * from the capability), PASID, and PRI with its PRG-response PASID requirement.
 */
function pdev_enable_caps(dev_data: IommuDevData): void {
  const hw = dev_data.dev.hw;
  if (hw.ats) {
    dev_data.ats_enabled = true;
    dev_data.ats_qdep = 32;
  }
  if (dev_data.max_pasids > 0) dev_data.pasid_enabled = true;
  if (hw.pri && dev_data.max_pasids > 0) {
    dev_data.pri_enabled = true;
    dev_data.pri_tlp = true;
  }
}

/**
 * attach_device (v7.0-rc5, re-read) of the identity domain, under dev_data->mutex: -EBUSY if
 * attached, the IOMMU refcount, the GCR3 table (sva-capable: pass-through mode), the PCI
 * capabilities, the IOPF queue (PRI is disabled again if that fails), the domain's device list
 * (under pdom->lock), the DTE.
 */
function* attach_device(dev_data: IommuDevData, domain: ProtectionDomain): Co<Errno | 0> {
  yield* mutex_lock(dev_data.mutex);
  let ret: Errno | 0 = 0;
  if (dev_data.domain !== undefined) ret = 'EBUSY';
  else {
    yield* pdom_attach_iommu(dev_data.iommu, domain);
    ret = init_gcr3_table(dev_data);
    if (ret !== 0) yield* pdom_detach_iommu(dev_data.iommu, domain);
    else {
      pdev_enable_caps(dev_data);
      if ((yield* amd_iommu_iopf_add_device(dev_data.iommu, dev_data)) !== 0) dev_data.pri_enabled = false;
      dev_data.domain = domain;
      yield* spin_lock(domain.lock);
      domain.dev_list.unshift(dev_data);
      yield* spin_unlock(domain.lock);
      yield* dev_update_dte(dev_data, true);
    }
  }
  // out:
  yield* mutex_unlock(dev_data.mutex);
  return ret;
}

/**
 * detach_device (v7.0-rc5, re-read), under dev_data->mutex: the IOPF queue (flushed first),
 * the DTE cleared and flushed, the domain's TLB flushed and the device unlinked under
 * pdom->lock, the GCR3 table destroyed, the IOMMU refcount. Not reached by the harness's
 * commands (the RID domain never changes), kept for the leak hook's completeness.
 */
export function* detach_device(dev_data: IommuDevData): Co {
  const domain = dev_data.domain;
  yield* mutex_lock(dev_data.mutex);
  if (domain === undefined) warn(dev_data.iommu.kernel, `detach_device: ${dev_data.dev.hw.name} not attached`);
  else {
    if (dev_data.ppr) {
      yield* iopf_queue_flush_dev(dev_data.dev);
      yield* amd_iommu_iopf_remove_device(dev_data.iommu, dev_data);
    }
    yield* dev_update_dte(dev_data, false);
    yield* spin_lock(domain.lock);
    yield* amd_iommu_domain_flush_all(domain);
    domain.dev_list.splice(domain.dev_list.indexOf(dev_data), 1);
    yield* spin_unlock(domain.lock);
    if (dev_data.gcr3_info.gcr3_tbl !== undefined) free_gcr3_table(dev_data.gcr3_info, dev_data);
    dev_data.domain = undefined;
    yield* pdom_detach_iommu(dev_data.iommu, domain);
  }
  // out:
  yield* mutex_unlock(dev_data.mutex);
}

/**
 * iommu_init_pci / amd_iommu_init (init.c, v6.19-rc), as far as SVA goes: the unit,
 * max_pasids = (1 << (PASmax + 1)) - 1 (PASmax + 1 = the topology's pasidBits: the top PASID
 * is never usable), the PPR log and the IOPF queue.
 */
function amd_iommu_probe_iommu(ctx: ProbeContext, index: number): AmdIommu {
  const spec = ctx.topology.iommus[index]!;
  const unit = new AmdIommuUnit(index, ctx.mem, ctx.trace, prqEntries(spec));
  const iommu: AmdIommu = {
    index, ops: amd_iommu_ops, max_pasids: 2 ** spec.pasidBits - 1, unit, kernel: ctx, lock: spin_lock_init(ctx, '&iommu->lock'),
    cmd_sem_val: 0, need_sync: false, iopf_queue: undefined, devices: new Map(),
  };
  amd_iommu_iopf_init(iommu);
  identity_domain(ctx);
  return iommu;
}

/**
 * amd_iommu_probe_device (v6.19-rc) + the identity default domain's attach: dev_data (DevID =
 * requester id), max_pasids = min(iommu, PCI) when both do PASID, a completion wait; then
 * attach_device. An attach failure leaves the device without a GCR3 table (no SVA), as a
 * failed default-domain attach would leave it without translation.
 */
function amd_iommu_probe_device(ctx: ProbeContext, dev: Device): void {
  const iommu = dev.iommu as AmdIommu;
  iommu.unit.connect(dev.hw);
  iommu.devices.set(dev.hw.sid, dev);
  const dev_data: IommuDevData = {
    dev, devid: dev.hw.sid, iommu, mutex: mutex_init(ctx, '&dev_data->mutex'), dte_lock: spin_lock_init(ctx, '&dev_data->dte_lock'),
    gcr3_info: { gcr3_tbl: undefined, glx: 0, pasid_cnt: 0, domid: 0 },
    max_pasids: dev.hw.maxPasids > 0 ? Math.min(iommu.max_pasids, dev.hw.maxPasids) : 0,
    domain: undefined, ats_enabled: false, ats_qdep: 0, pri_enabled: false, pasid_enabled: false, pri_tlp: false, ppr: false,
  };
  dev.priv = dev_data;
  // probe_device runs at world build, before any task exists: always the sequential path
  // (as arm_smmu_probe_device's identity attach), so running it to completion is exact.
  sync(ctx, iommu_completion_wait(iommu));
  const ret = sync(ctx, attach_device(dev_data, identity_domain(ctx)));
  if (ret !== 0) ctx.trace?.event('driver', iommu.unit.name, `${dev.hw.name}: identity domain attach failed (${ret})`);
}

/** The platform plug-in the world builder probes with. */
export const amdIommuDriver: IommuDriver = Object.freeze({
  platform: 'amd',
  probeIommu: amd_iommu_probe_iommu,
  probeDevice: amd_iommu_probe_device,
  leakCheck: amd_iommu_leak_check,
});

