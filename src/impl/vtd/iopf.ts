/**
 * I/O page fault enablement, after drivers/iommu/intel/iommu.c (intel_iommu_enable_iopf,
 * intel_iommu_disable_iopf) and the iopf_for_domain_* helpers of iommu.h (v6.17; unchanged in
 * mainline up to v7.0-rc5, see docs/kernel-version.md). The first reference puts the device on
 * the IOMMU's iopf queue, the last takes it off (answering what is still pending).
 */
import type { Co } from '../core/sched.js';
import type { Errno } from '../../shared/index.js';
import type { Device, IommuDomain } from '../core/types.js';
import { iopf_counts, iopf_queue_add_device, iopf_queue_remove_device } from '../core/iopf.js';
import { WARN_ON, dev_iommu_priv_get } from './dmar.js';

/** iommu.c: intel_iommu_enable_iopf: -ENODEV unless PRI is enabled. */
export function* intel_iommu_enable_iopf(dev: Device): Co<Errno | 0> {
  const info = dev_iommu_priv_get(dev);
  if (!info.pri_enabled) return 'ENODEV';
  if (info.iopf_refcount++ > 0) return 0;
  const ret = yield* iopf_queue_add_device(info.iommu.iopf_queue!, dev);
  if (ret !== 0) info.iopf_refcount--;
  return ret;
}

/** iommu.c: intel_iommu_disable_iopf. */
export function* intel_iommu_disable_iopf(dev: Device): Co {
  const info = dev_iommu_priv_get(dev);
  if (!info.pri_enabled) iopf_counts(info.iommu.kernel).disablesWithoutPri++;
  if (WARN_ON(info.iommu, !info.pri_enabled || info.iopf_refcount === 0, 'intel_iommu_disable_iopf: not enabled')) return;
  if (--info.iopf_refcount > 0) return;
  yield* iopf_queue_remove_device(info.iommu.iopf_queue!, dev);
}

/**
 * Only domains with an iopf handler take part; the core gives every SVA domain one. In v7.0-rc5
 * the helpers do not look at the device: since 39c20c4e83b9 intel_svm_set_dev_pasid skips them
 * for a device without PRI, but the PASID detach (blocking_domain_set_dev_pasid) does not
 * (finding vtd-iopf-remove-nonpri, docs/upstream-findings.md).
 */
const has_iopf_handler = (domain: IommuDomain | undefined): domain is IommuDomain =>
  domain !== undefined && domain.type === 'SVA';

/**
 * The fix of finding vtd-iopf-remove-nonpri, as upstream took it (534b5f98ab73, "iommu/vt-d:
 * Avoid WARNING in sva unbind path", iommu tree intel/vt-d after v7.0): the helpers themselves
 * skip an SVA domain on a device without PRI ("SVA with non-IOMMU/PRI IOPF handling is
 * allowed"), so the attach and the detach agree. B17 is the kernel before 39c20c4e83b9, which
 * had no such test anywhere.
 */
function sva_iopf_bypassed(domain: IommuDomain, dev: Device): boolean {
  const info = dev_iommu_priv_get(dev);
  const kernel = info.iommu.kernel;
  return kernel.fixes.has('vtd-iopf-remove-nonpri') && kernel.fault !== 'B17' && domain.type === 'SVA' && !info.pri_supported;
}

/** iommu.h: iopf_for_domain_set (v6.17; with the fix on, 534b5f98ab73). */
export function* iopf_for_domain_set(domain: IommuDomain | undefined, dev: Device): Co<Errno | 0> {
  if (!has_iopf_handler(domain) || sva_iopf_bypassed(domain, dev)) return 0;
  return yield* intel_iommu_enable_iopf(dev);
}

/** iommu.h: iopf_for_domain_remove (v6.17; with the fix on, 534b5f98ab73). */
export function* iopf_for_domain_remove(domain: IommuDomain | undefined, dev: Device): Co {
  if (!has_iopf_handler(domain) || sva_iopf_bypassed(domain, dev)) return;
  yield* intel_iommu_disable_iopf(dev);
}

/** iommu.h: iopf_for_domain_replace. */
export function* iopf_for_domain_replace(next: IommuDomain | undefined, old: IommuDomain | undefined, dev: Device): Co<Errno | 0> {
  const ret = yield* iopf_for_domain_set(next, dev);
  if (ret !== 0) return ret;
  yield* iopf_for_domain_remove(old, dev);
  return 0;
}
