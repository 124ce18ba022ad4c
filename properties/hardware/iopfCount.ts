import { dev_fault_param } from '../../src/impl/core/iopf.js';
import type { Device } from '../../src/impl/index.js';
import { dev_iommu_priv_get as amdDevData } from '../../src/impl/amd/structs.js';
import { dev_iommu_priv_get as smmuMaster } from '../../src/impl/smmuv3/structs.js';
import { dev_iommu_priv_get as vtdInfo } from '../../src/impl/vtd/dmar.js';
import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck, type Sink } from './platform.js';

/** SVA domains (each has an iopf handler) attached at the device's group, one per PASID. */
function iopfDomainsAttached(dev: Device): number {
  // A device without PASID capability is skipped by the PASID attach (max_pasids == 0).
  if (dev.max_pasids === 0) return 0;
  let n = 0;
  for (const e of dev.group.pasid_array.values()) if (e.kind === 'handle' && e.handle.domain.type === 'SVA') n++;
  return n;
}

/** One device's count against what it must be, and its fault-queue membership against the count. */
function checkCount(out: Sink, dev: Device, refcount: number, capable: boolean, what: string): void {
  if (refcount < 0) out.add({ dev: dev.id }, `${dev.hw.name}: ${what} is ${refcount}: disabled more often than enabled`);
  const want = capable ? iopfDomainsAttached(dev) : 0;
  if (refcount !== want) out.add({ dev: dev.id }, `${dev.hw.name}: ${what} is ${refcount}, but ${want} IOPF-capable domain(s) are attached${capable ? '' : ' (it cannot take faults)'}`);
  const queued = dev_fault_param(dev) !== undefined;
  if (queued !== refcount > 0) out.add({ dev: dev.id }, `${dev.hw.name}: ${what} is ${refcount} but the device is ${queued ? '' : 'not '}on the IOMMU's fault queue`);
}

/** VT-d: device_domain_info.iopf_refcount counts the IOPF domains while PRI is enabled. */
const vtd: PlatformCheck = (ctx, out) => {
  for (const dev of ctx.world.devices) {
    const info = vtdInfo(dev);
    checkCount(out, dev, info.iopf_refcount, info.pri_enabled, 'iopf_refcount');
  }
};

/** SMMUv3: arm_smmu_master.iopf_refcount counts the IOPF domains of a stall-capable master. */
const smmuv3: PlatformCheck = (ctx, out) => {
  for (const dev of ctx.world.devices) {
    const m = smmuMaster(dev);
    checkCount(out, dev, m.iopf_refcount, m.stall_enabled, 'iopf_refcount');
  }
};

/**
 * AMD keeps no IOPF reference count: attach_device of the RID domain puts a PRI device on its
 * IOMMU's fault queue once (amd_iommu_iopf_add_device sets dev_data->ppr, which DTE.PPR
 * follows) and detach_device takes it off; the SVA attach and detach (iommu_sva_set_dev_pasid,
 * amd_iommu_remove_dev_pasid) leave it alone. What the rule keeps there: the device is on the
 * fault queue exactly while dev_data->ppr is set, and only a PRI-enabled device has it.
 */
const amd: PlatformCheck = (ctx, out) => {
  for (const dev of ctx.world.devices) {
    const d = amdDevData(dev);
    if (d.ppr && !d.pri_enabled) out.add({ dev: dev.id }, `${dev.hw.name}: dev_data->ppr is set but PRI is not enabled`);
    const queued = dev_fault_param(dev) !== undefined;
    if (queued !== d.ppr) out.add({ dev: dev.id }, `${dev.hw.name}: dev_data->ppr is ${d.ppr ? 'set' : 'clear'} but the device is ${queued ? '' : 'not '}on the IOMMU's fault queue`);
  }
};

/** I-IOPF-COUNT: IOPF enablement balances over attach, detach, replace and unplug. */
export const iopfCount: Invariant = {
  id: 'I-IOPF-COUNT',
  title: 'IOPF enable counts equal the attached IOPF-capable domains and never go negative',
  kernelRule:
    'iopf_for_domain_set/remove/replace take and drop one reference per attached domain with an iopf handler, only on a device that can fault (PRI enabled, or a stall master); the first reference puts the device on the fault queue, the last takes it off.',
  source: 'drivers/iommu/intel/iommu.c: intel_iommu_enable_iopf, intel_iommu_disable_iopf; iommu.h: iopf_for_domain_*; arm-smmu-v3.c: arm_smmu_enable_iopf, arm_smmu_disable_iopf (v7.0-rc5); amd/iommu.c: attach_device, detach_device; amd/ppr.c: amd_iommu_iopf_add_device, amd_iommu_iopf_remove_device (v6.19-rc)',
  check: perPlatform('I-IOPF-COUNT', { vtd, smmuv3, amd }),
};
