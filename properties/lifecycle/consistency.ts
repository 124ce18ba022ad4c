/**
 * I5 Consistency: for every (device, PASID) the four records of an SVA attachment agree, all
 * present or all absent: the group's pasid_array entry, the driver-written hardware entry
 * (PASID entry / CD; its quiet form once the mm exited), the domain's device list
 * (dev_pasids / master_domains) and the invalidation bookkeeping (cache tags; nr_ats_masters
 * and the ASID). No XA_ZERO_ENTRY reservation survives a command.
 */
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { platformOf } from './platform/index.js';
import { Findings, domainOf, pasidWatermark } from './scan.js';

const findings = new Findings('I5');

function check({ world }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  const p = platformOf(world);
  // pasid_array → hardware entry and device list, for each PASID-capable device of the group.
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      const dom = domainOf(e);
      if (dom === undefined) {
        f.add({ group: g.id, pasid }, `group ${g.id} PASID ${pasid}: reservation left behind`);
        continue;
      }
      if (dom.freed || !(dom.type === 'SVA' || (dom.type === 'PAGING' && p.checksPaging === true))) continue; // I10 reports a freed domain
      for (const dev of g.devices) {
        if (dev.max_pasids === 0) continue;
        const why = p.entryProblem(dev, pasid, dom);
        if (why !== undefined) f.add({ dev: dev.id, pasid, domain: dom.id }, `dev${dev.id} PASID ${pasid} (domain ${dom.id}): ${why}`);
        const n = p.listed(dom, dev, pasid);
        const want = p.releaseUnlists === true && dom.mm?.exited === true ? 0 : 1;
        if (n !== want) f.add({ dev: dev.id, pasid, domain: dom.id }, `domain ${dom.id}'s device list holds dev${dev.id}/${pasid} ${n} times, ${want} expected`);
      }
    }
  }
  // Device list → pasid_array, and the bookkeeping built from the list.
  for (const dom of world.core.live.domains) {
    const stray = p.firstUnattached(dom);
    if (stray !== undefined) {
      const { dev, pasid } = stray;
      f.add({ dev: dev.id, pasid, domain: dom.id }, `domain ${dom.id} lists dev${dev.id}/${pasid}, which its group does not attach to it`);
    }
    const why = p.bookkeepingProblem(dom);
    if (why !== undefined) f.add({ domain: dom.id }, `domain ${dom.id}: ${why}`);
  }
  // The HWPTs' paging domains too, where the platform's reads cover them (their RID and PASID
  // master_domains and nr_ats_masters, on SMMUv3).
  if (p.checksPaging === true) {
    for (const h of world.hwpts) {
      const dom = h.domain;
      if (dom === undefined || dom.freed || dom.type !== 'PAGING') continue;
      const why = p.bookkeepingProblem(dom);
      if (why !== undefined) f.add({ domain: dom.id }, `domain ${dom.id}: ${why}`);
    }
  }
  // Hardware entry → pasid_array (stray entries, e.g. left at a freed PASID).
  const top = pasidWatermark(world);
  for (const dev of world.devices) {
    const end = Math.min(top, dev.max_pasids - 1);
    for (let pasid = 1; pasid <= end; pasid++) {
      // The cheap Map lookup first: an attached PASID's entry was checked above.
      if (!dev.group.pasid_array.has(pasid) && p.hasEntry(dev, pasid)) {
        f.add({ dev: dev.id, pasid }, `dev${dev.id} has a hardware entry at PASID ${pasid} that its group does not attach`);
      }
    }
  }
  return f.done();
}

export const consistency: Invariant = {
  id: 'I5',
  title: 'Consistency: pasid_array ⇔ PASID entry/CD ⇔ domain device list ⇔ cache tags/master_domain',
  kernelRule:
    'An SVA attachment exists in the group pasid_array iff every PASID-capable device has the live hardware entry (quiet after release), the domain lists it, and its cache tags / master_domain exist.',
  source: 'drivers/iommu/iommu.c: iommu_attach_device_pasid, iommu_detach_device_pasid; intel/svm.c: intel_svm_set_dev_pasid; intel/cache.c: cache_tag_assign_domain; arm-smmu-v3.c: arm_smmu_set_pasid, arm_smmu_attach_prepare (v6.17)',
  check,
};
