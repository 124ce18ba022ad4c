import { didPasidKey } from '../../src/hw/vtd/iotlb.js';
import type { Device, World } from '../../src/impl/index.js';
import { to_smmu_domain } from '../../src/impl/smmuv3/structs.js';
import { FLPT_DEFAULT_DID } from '../../src/impl/vtd/dmar.js';
import type { Invariant } from '../invariant.js';
import { lastUnbind } from './lastUnbind.js';
import { perPlatform, type PlatformCheck, type Sink } from './platform.js';
import { SSID_SPACE, asidOwner, cdCacheOf, memoryCd, smmuUnits, tlbOf, walkCacheOf } from './smmuRead.js';
import { PASID_SPACE, atcOf, iotlbOf, pasidCacheOf, pscOf, vtdUnits } from './vtdRead.js';
import { amdUnits, gcr3Domid, memoryGcr3, pprPending } from './amdRead.js';


function atcClean(dev: Device, pasid: number, out: Sink): void {
  const n = atcOf(dev.hw).get(pasid)?.size ?? 0;
  if (n > 0) out.add({ dev: dev.id, pasid, entries: n }, `${dev.hw.name} ATC keeps ${n} entries for PASID ${pasid} after the last unbind`);
}

const vtd: PlatformCheck = (ctx, out) => {
  const gone = lastUnbind(ctx);
  if (gone === undefined) return;
  const { pasid } = gone;
  const world: World = ctx.world;
  const units = vtdUnits(world);
  for (const dev of gone.devs) {
    const iommu = units[dev.iommu.index]!;
    const u = iommu.unit;
    const sid = dev.hw.sid;
    const objects = { dev: dev.id, pasid, iommu: iommu.index };
    if (u.pasidTable(sid)?.fetch(pasid)?.present === true) out.add(objects, `${dev.hw.name} PASID ${pasid}: entry still present after the last unbind`);
    if (pasidCacheOf(u).has(sid * PASID_SPACE + pasid)) out.add(objects, `${dev.hw.name} PASID ${pasid}: PASID cache still holds the entry`);
    atcClean(dev, pasid, out);
    if (u.prq.hasPending(sid, pasid)) out.add(objects, `${u.name}: page requests of ${dev.hw.name} PASID ${pasid} still queued`);
    // The IOTLB tag (DID 1, PASID) is shared by every device of this mm behind the unit.
    const shared = world.devices.some((d) => d.iommu === iommu && u.pasidTable(d.hw.sid)?.fetch(pasid)?.present === true);
    if (shared) continue;
    const key = didPasidKey(FLPT_DEFAULT_DID, pasid);
    const n = (iotlbOf(u).get(key)?.size ?? 0) + (pscOf(u).get(key)?.size ?? 0);
    if (n > 0) out.add(objects, `${u.name} IOTLB/paging-structure cache keep ${n} entries for PASID ${pasid} with no device bound to it`);
  }
};

const smmuv3: PlatformCheck = (ctx, out) => {
  const gone = lastUnbind(ctx);
  if (gone === undefined) return;
  const { pasid } = gone;
  const world = ctx.world;
  const mm = gone.mm;
  const units = smmuUnits(world);
  for (const dev of gone.devs) {
    const smmu = units[dev.iommu.index]!;
    const u = smmu.unit;
    const sid = dev.hw.sid;
    const objects = { dev: dev.id, pasid, iommu: smmu.index };
    if (memoryCd(u, sid, pasid)?.v === true) out.add(objects, `${dev.hw.name} SSID ${pasid}: CD still valid after the last unbind`);
    if (cdCacheOf(u).has(sid * SSID_SPACE + pasid)) out.add(objects, `${dev.hw.name} SSID ${pasid}: CD cache still holds the CD`);
    atcClean(dev, pasid, out);
    // The ASID belongs to the (mm, SMMU) domain: while another device keeps it, its entries stay.
    const live = (mm.iommu_mm?.sva_domains ?? []).some((d) => to_smmu_domain(d).smmu === smmu);
    if (live) continue;
    for (const cache of [tlbOf(u), walkCacheOf(u)]) {
      for (const [asid, m] of cache) {
        if (m.size > 0 && asidOwner(world, asid) === undefined) {
          out.add({ ...objects, asid }, `${u.name} keeps ${m.size} TLB/walk-cache entries of ASID ${asid}, freed with mm${mm.slot}'s domain`);
        }
      }
    }
  }
};

/** AMD: the GCR3 entry, its cached copy, the ATC, the PPR log and the (per-device domain ID) IOTLB. */
const amd: PlatformCheck = (ctx, out) => {
  const gone = lastUnbind(ctx);
  if (gone === undefined) return;
  const { pasid } = gone;
  const units = amdUnits(ctx.world);
  for (const dev of gone.devs) {
    const u = units[dev.iommu.index]!.unit;
    const objects = { dev: dev.id, pasid, iommu: dev.iommu.index };
    const key = didPasidKey(gcr3Domid(dev), pasid);
    if (memoryGcr3(dev, pasid)?.valid === true) out.add(objects, `${dev.hw.name} PASID ${pasid}: GCR3 entry still valid after the last unbind`);
    if (u.gcr3Cache.has(key)) out.add(objects, `${u.name}: GCR3 cache still holds ${dev.hw.name} PASID ${pasid}`);
    atcClean(dev, pasid, out);
    if (pprPending(u, dev.hw.sid, pasid)) out.add(objects, `${u.name}: page requests of ${dev.hw.name} PASID ${pasid} still in the PPR log`);
    const n = (iotlbOf(u).get(key)?.size ?? 0) + (pscOf(u).get(key)?.size ?? 0);
    if (n > 0) out.add(objects, `${u.name} IOTLB/page-directory cache keep ${n} entries of ${dev.hw.name} PASID ${pasid}`);
  }
};

/** I8: after the last unbind of (dev, mm), nothing on the hardware still translates for that (dev, PASID). */
export const afterUnbind: Invariant = {
  id: 'I8',
  title: 'After the last unbind, DMA on (dev, PASID) faults',
  kernelRule:
    "The last unbind leaves the device's PASID entry / CD non-translating, no cached PASID entry or CD, no ATC, IOTLB or walk-cache entry for the tag (unless another bond shares it) and no queued page request.",
  source:
    'drivers/iommu/iommu-sva.c: iommu_sva_unbind_device; drivers/iommu/intel/iommu.c: blocking_domain_set_dev_pasid; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: arm_smmu_blocking_set_dev_pasid (v6.17); drivers/iommu/amd/pasid.c: amd_iommu_remove_dev_pasid (v6.19-rc); bugs B05, B15',
  check: perPlatform('I8', { vtd, smmuv3, amd }),
};
