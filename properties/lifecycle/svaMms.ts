/**
 * L1 iommu_sva_mms: the global list holds exactly the iommu_mms that have SVA domains, once
 * each, and iommu_sva_present says whether it is non-empty. The kernel-address flush of
 * CVE-2025-71202 (iommu_sva_invalidate_kva_range) walks only this list, so an mm with a domain
 * missing from it keeps stale kernel page-table walks in its IOMMU caches.
 */
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { Findings } from './scan.js';

const findings = new Findings('L1');

function check({ world }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  const sva = world.core.sva;
  for (const mm of world.mms) {
    const d = mm?.iommu_mm;
    if (d === undefined || d.freed || d.sva_domains.length === 0) continue;
    if (!sva.mms.includes(d)) f.add({ mm: d.mm.slot }, `mm${d.mm.slot} has ${d.sva_domains.length} SVA domains but is not on iommu_sva_mms`);
  }
  for (let i = 0; i < sva.mms.length; i++) {
    const d = sva.mms[i]!;
    if (d.freed || d.sva_domains.length === 0) f.add({ mm: d.mm.slot }, `iommu_sva_mms holds mm${d.mm.slot} without SVA domains`);
    if (sva.mms.indexOf(d) !== i) f.add({ mm: d.mm.slot }, `mm${d.mm.slot} is on iommu_sva_mms twice`);
  }
  if (sva.present !== sva.mms.length > 0) f.add({}, `iommu_sva_present is ${sva.present} with ${sva.mms.length} members`);
  return f.done();
}

export const svaMms: Invariant = {
  id: 'L1',
  title: 'iommu_sva_mms lists exactly the mms with SVA domains',
  kernelRule:
    'iommu_sva_bind_device adds iommu_mm to iommu_sva_mms with its first domain and unbind removes it with its last; iommu_sva_present tracks non-emptiness, so the KVA flush reaches every SVA mm.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_bind_device, iommu_sva_unbind_device, iommu_sva_invalidate_kva_range (v6.18, e37d5a2d60a3, CVE-2025-71202)',
  check,
};
