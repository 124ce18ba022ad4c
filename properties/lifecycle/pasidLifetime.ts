/**
 * I1 PASID lifetime: an mm_struct keeps one PASID from its first successful iommu_alloc_mm_data
 * until __mmdrop; no two mm_structs that are not freed share one; a freed PASID is in no
 * pasid_array slot and no handle (B01: freed at exit, then reused; B02: freed at unbind).
 * Hardware entries at freed PASIDs are the hardware invariants' concern.
 */
import type { MmStruct } from '../../src/impl/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { Findings } from './scan.js';

const findings = new Findings('I1');

/** The PASID each mm_struct was first seen with: the rule is about change over time. */
const firstPasid = new WeakMap<MmStruct, number>();

function check({ world }: CheckContext): readonly Violation[] {
  const ida = world.core.pasidIda;
  const f = findings.begin();
  const mms = world.mms;
  for (let slot = 0; slot < mms.length; slot++) {
    const mm = mms[slot];
    if (mm === undefined) continue;
    const d = mm.iommu_mm;
    if (mm.freed) {
      // mm_pasid_drop runs inside __mmdrop: a freed mm_struct cannot keep its PASID.
      if (d !== undefined && !d.freed) f.add({ mm: slot, pasid: d.pasid }, `mm${slot} is freed but its iommu_mm (PASID ${d.pasid}) was not dropped`);
      continue;
    }
    const seen = firstPasid.get(mm);
    if (d === undefined) {
      if (seen !== undefined) f.add({ mm: slot, pasid: seen }, `mm${slot} lost its PASID ${seen} while its mm_struct lives`);
      continue;
    }
    if (seen === undefined) firstPasid.set(mm, d.pasid);
    else if (seen !== d.pasid) f.add({ mm: slot, pasid: d.pasid }, `mm${slot}'s PASID changed from ${seen} to ${d.pasid}`);
    if (d.freed || !ida.has(d.pasid)) {
      f.add({ mm: slot, pasid: d.pasid }, `PASID ${d.pasid} of mm${slot} was freed while mm_count is ${mm.mm_count}`);
    }
    if (d.mm !== mm) f.add({ mm: slot, pasid: d.pasid }, `mm${slot}'s iommu_mm belongs to mm${d.mm.slot}#${d.mm.gen}`);
    for (let other = 0; other < slot; other++) {
      const o = mms[other];
      if (o !== undefined && !o.freed && o.iommu_mm !== undefined && o.iommu_mm.pasid === d.pasid) {
        f.add({ mm: slot, other, pasid: d.pasid }, `mm${other} and mm${slot} share PASID ${d.pasid}`);
      }
    }
  }
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      // An iommufd paging or nested domain sits at the PASID its caller chose, outside the global IDA.
      if (e.kind === 'domain' && (e.domain.type === 'PAGING' || e.domain.type === 'NESTED')) continue;
      if (!ida.has(pasid)) {
        f.add({ group: g.id, pasid }, `group ${g.id} has a ${e.kind} entry at freed PASID ${pasid}`);
        continue;
      }
      if (e.kind !== 'handle') continue;
      const mm = e.handle.domain.mm;
      const own = mm === undefined || mm.freed ? undefined : mm.iommu_mm?.pasid;
      if (own !== pasid) {
        f.add({ group: g.id, pasid, handle: e.handle.id }, `handle ${e.handle.id} at PASID ${pasid} belongs to an mm whose PASID is ${own ?? 'gone'}`);
      }
    }
  }
  return f.done();
}

export const pasidLifetime: Invariant = {
  id: 'I1',
  title: 'PASID lifetime: fixed while the mm_struct lives, unique, freed only at __mmdrop',
  kernelRule:
    "mm->iommu_mm->pasid is set once by iommu_alloc_mm_data and freed only by mm_pasid_drop from __mmdrop; live mms never share it and no pasid_array slot or handle uses a freed one (iommufd paging domains sit at caller-chosen PASIDs, which the IDA does not track).",
  source: 'drivers/iommu/iommu-sva.c: iommu_alloc_mm_data, mm_pasid_drop; kernel/fork.c: __mmdrop (v6.17); 2667ed10d9f0 (B01), 701fac40384f (B02)',
  check,
};
