/**
 * I3 Domain sharing: every domain on an mm's sva_domains list is a live SVA domain of that mm
 * whose users count its attachments; each allocated domain is on its mm's list; an SMMUv3 mm
 * has at most one domain per SMMU instance (arm_smmu_set_pasid refuses another SMMU's domain),
 * a VT-d mm at most one in all (no per-IOMMU DID: one domain works behind every IOMMU), and
 * so an AMD mm (amd/pasid.c: an SVA domain flushes through each attachment's own device).
 * "At most one" holds while no attach fails: a bind whose attach of the existing domain fails
 * (an allocation in the driver's set_dev_pasid) moves on and allocates another for the same
 * instance, as iommu_sva_bind_device's loop does. The spec says when that happened: an mm may
 * hold as many domains per instance as the spec's state has, and never more than one otherwise.
 */
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { platformOf } from './platform/index.js';
import { Findings, attachmentsOf } from './scan.js';

const findings = new Findings('I3');

/** The spec's domains of the slot on `inst` (every one on VT-d, where inst is undefined). */
const specDomains = (spec: CheckContext['spec'], slot: number, inst: number | undefined): number => {
  let n = 0;
  for (const d of spec.slots[slot]!.domains) if (inst === undefined || d.iommu === inst) n++;
  return n;
};

function check({ world, spec }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  const p = platformOf(world);
  for (const mm of world.mms) {
    const d = mm?.iommu_mm;
    if (mm === undefined || d === undefined) continue;
    const slot = mm.slot;
    const list = d.sva_domains;
    if (d.freed && list.length > 0) f.add({ mm: slot }, `mm${slot}'s freed iommu_mm still lists ${list.length} domains`);
    let instances = 0;
    for (const dom of list) {
      if (dom.freed || dom.type !== 'SVA') f.add({ mm: slot, domain: dom.id }, `sva_domains of mm${slot} holds ${dom.freed ? 'freed' : dom.type} domain ${dom.id}`);
      if (dom.mm !== mm) f.add({ mm: slot, domain: dom.id }, `domain ${dom.id} on mm${slot}'s list belongs to ${dom.mm === undefined ? 'no mm' : `mm${dom.mm.slot}#${dom.mm.gen}`}`);
      const n = attachmentsOf(world, dom);
      if (dom.users < 1 || dom.users !== n) f.add({ mm: slot, domain: dom.id }, `domain ${dom.id} has users ${dom.users} but ${n} attachments`);
      const inst = p.domainInstance(dom);
      if (inst === undefined) continue;
      if ((instances & (1 << inst)) !== 0 && specDomains(spec, slot, inst) < 2) f.add({ mm: slot, domain: dom.id, iommu: inst }, `mm${slot} has two SVA domains on IOMMU ${inst}`);
      instances |= 1 << inst;
    }
    if (list.length > 1 && p.domainInstance(list[0]!) === undefined && specDomains(spec, slot, undefined) < list.length) {
      f.add({ mm: slot }, `mm${slot} has ${list.length} SVA domains; ${world.topology.platform === 'amd' ? 'AMD' : 'VT-d'} shares one per mm`);
    }
  }
  for (const dom of world.core.live.domains) {
    const list = dom.mm?.iommu_mm?.sva_domains;
    if (list === undefined || !list.includes(dom)) f.add({ domain: dom.id }, `allocated domain ${dom.id} is on no sva_domains list`);
  }
  return f.done();
}

export const domainSharing: Invariant = {
  id: 'I3',
  title: 'Domain sharing: users = attachments, one domain per (mm, SMMU) / per mm on VT-d',
  kernelRule:
    "Each domain in iommu_mm->sva_domains has domain->mm == mm and users == its attachments ≥ 1; SMMUv3 has at most one SVA domain per (mm, SMMU instance), VT-d and AMD one per mm.",
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_bind_device, iommu_sva_unbind_device; arm-smmu-v3.c: arm_smmu_set_pasid; intel/svm.c: intel_svm_set_dev_pasid (v6.17); "Share sva domains with all devices bound to a mm" v8 (2023)',
  check,
};
