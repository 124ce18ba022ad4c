/**
 * I/O page fault enablement, after drivers/iommu/intel/iommu.c (intel_iommu_enable_iopf,
 * intel_iommu_disable_iopf) and the iopf_for_domain_* helpers of iommu.h (v6.17, with the
 * later fix that skips them for SVA on a device without PRI). The first reference puts the
 * device on the IOMMU's iopf queue, the last takes it off (answering what is still pending).
 */
import type { Errno } from '../../shared/index.js';
import type { Device, IommuDomain } from '../core/types.js';
import { iopf_queue_add_device, iopf_queue_remove_device } from '../core/iopf.js';
import { WARN_ON, dev_iommu_priv_get } from './dmar.js';

/** iommu.c: intel_iommu_enable_iopf: -ENODEV unless PRI is enabled. */
export function intel_iommu_enable_iopf(dev: Device): Errno | 0 {
  const info = dev_iommu_priv_get(dev);
  if (!info.pri_enabled) return 'ENODEV';
  if (info.iopf_refcount++ > 0) return 0;
  const ret = iopf_queue_add_device(info.iommu.iopf_queue!, dev);
  if (ret !== 0) info.iopf_refcount--;
  return ret;
}

/** iommu.c: intel_iommu_disable_iopf. */
export function intel_iommu_disable_iopf(dev: Device): void {
  const info = dev_iommu_priv_get(dev);
  if (WARN_ON(info.iommu, !info.pri_enabled || info.iopf_refcount === 0, 'intel_iommu_disable_iopf: not enabled')) return;
  if (--info.iopf_refcount > 0) return;
  iopf_queue_remove_device(info.iommu.iopf_queue!, dev);
}

/**
 * Only domains with an iopf handler take part; the core gives every SVA domain one. SVA on a
 * device without PRI handles its faults in the device itself, so it is skipped.
 */
const takes_iopf = (domain: IommuDomain | undefined, dev: Device): domain is IommuDomain =>
  domain !== undefined && domain.type === 'SVA' && dev_iommu_priv_get(dev).pri_supported;

/** iommu.h: iopf_for_domain_set. */
export function iopf_for_domain_set(domain: IommuDomain | undefined, dev: Device): Errno | 0 {
  return takes_iopf(domain, dev) ? intel_iommu_enable_iopf(dev) : 0;
}

/** iommu.h: iopf_for_domain_remove. */
export function iopf_for_domain_remove(domain: IommuDomain | undefined, dev: Device): void {
  if (takes_iopf(domain, dev)) intel_iommu_disable_iopf(dev);
}

/** iommu.h: iopf_for_domain_replace. */
export function iopf_for_domain_replace(next: IommuDomain | undefined, old: IommuDomain | undefined, dev: Device): Errno | 0 {
  const ret = iopf_for_domain_set(next, dev);
  if (ret !== 0) return ret;
  iopf_for_domain_remove(old, dev);
  return 0;
}
