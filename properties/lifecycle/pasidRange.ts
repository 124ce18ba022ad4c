/**
 * I2 PASID range: PASIDs come from [1, max_pasids − 1] of the device that allocated them, and
 * nothing is attached at a PASID a device of the group cannot carry (iommu_attach_device_pasid
 * checks every PASID-capable device; devices with max_pasids 0 are skipped, and must then hold
 * no PASID state at all: B16). B09 was an ida errno taken for a PASID.
 */
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { platformOf } from './platform/index.js';
import { Findings, pasidWatermark } from './scan.js';

const findings = new Findings('I2');

function check({ world }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      // IOMMU_NO_PASID's slot is the RID's: iommu_attach_group_handle stores the group's domain there.
      if (pasid === 0 && e.kind === 'domain' && e.domain === g.domain) continue;
      if (!Number.isInteger(pasid) || pasid < 1) f.add({ group: g.id, pasid }, `group ${g.id} has an entry at PASID ${pasid}`);
      for (const d of g.devices) {
        if (d.max_pasids > 0 && pasid >= d.max_pasids) f.add({ group: g.id, dev: d.id, pasid }, `group ${g.id} attaches PASID ${pasid} but dev${d.id} has max_pasids ${d.max_pasids}`);
      }
    }
  }
  const { mms, fds, devices } = world;
  for (let slot = 0; slot < mms.length; slot++) {
    const d = mms[slot]?.iommu_mm;
    if (d === undefined || d.freed) continue;
    if (!Number.isInteger(d.pasid) || d.pasid < 1) f.add({ mm: slot, pasid: d.pasid }, `mm${slot} holds PASID ${d.pasid}`);
    const row = fds[slot]!;
    for (let dev = 0; dev < row.length; dev++) {
      if (row[dev] !== undefined && d.pasid >= devices[dev]!.max_pasids) {
        f.add({ mm: slot, dev, pasid: d.pasid }, `dev${dev} is bound to mm${slot} at PASID ${d.pasid} ≥ its max_pasids ${devices[dev]!.max_pasids}`);
      }
    }
  }
  // Driver-written entries beyond a device's range (all of them for a non-PASID device).
  const top = pasidWatermark(world);
  const p = platformOf(world);
  for (const dev of devices) {
    for (let pasid = Math.max(1, dev.max_pasids); pasid <= top; pasid++) {
      if (p.hasEntry(dev, pasid)) f.add({ dev: dev.id, pasid }, `dev${dev.id} (max_pasids ${dev.max_pasids}) has a live hardware entry at PASID ${pasid}`);
    }
  }
  return f.done();
}

export const pasidRange: Invariant = {
  id: 'I2',
  title: 'PASID range: within [1, max_pasids − 1] of every device that uses it',
  kernelRule:
    'A PASID is allocated in [1, dev max_pasids − 1] and attached only where every PASID-capable device of the group has pasid < max_pasids; devices without PASID support hold no PASID state. The IOMMU_NO_PASID slot holds only the RID domain of the group (iommu_attach_group_handle).',
  source: 'drivers/iommu/iommu.c: iommu_alloc_global_pasid, iommu_attach_device_pasid, iommu_attach_group_handle (v7.0); iommu-sva.c: iommu_alloc_mm_data (v6.17); c20ecf7bb615 (B09); B16 thread',
  check,
};
