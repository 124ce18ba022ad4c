/**
 * I6 on VT-d: each unit's IOTLB and paging-structure cache against the page tables of the mm
 * owning the PASID tag, and its PASID cache against the PASID tables in memory. Each cache is
 * walked once; a tag is resolved to its mm once per (DID, PASID).
 */
import { pscFrame } from '../../src/hw/vtd/psc.js';
import type { World } from '../../src/impl/index.js';
import { leafIsStale, mmOfPasid, pointerIsStale } from './cpuWalk.js';
import type { Sink } from './platform.js';
import { PASID_SPACE, iotlbOf, pasidCacheOf, pscOf, samePasidEntry, vtdUnits } from './vtdRead.js';
import { walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';

export function checkVtdCaches(world: World, out: Sink): void {
  const units = vtdUnits(world);
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!.unit;
    for (const [key, m] of iotlbOf(u)) {
      if (m.size === 0) continue;
      const did = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const mm = mmOfPasid(world, pasid);
      if (mm === undefined) {
        out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} IOTLB keeps ${m.size} entries tagged DID ${did} PASID ${pasid}, which no mm owns`);
        continue;
      }
      for (const [vpn, t] of m) {
        if (leafIsStale(mm, vpn, t.frame, t.write)) {
          out.add({ iommu: i, did, pasid, mm: mm.slot, vpn, frame: t.frame },
            `${u.name} IOTLB entry DID ${did} PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' ro'} disagrees with mm${mm.slot}'s page tables`);
        }
      }
    }
    for (const [key, m] of pscOf(u)) {
      if (m.size === 0) continue;
      const did = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const mm = mmOfPasid(world, pasid);
      if (mm === undefined) {
        out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} paging-structure cache keeps ${m.size} entries tagged DID ${did} PASID ${pasid}, which no mm owns`);
        continue;
      }
      for (const [k, packed] of m) {
        const level = walkKeyLevel(k);
        const prefix = walkKeyPrefix(k);
        const frame = pscFrame(packed);
        if (pointerIsStale(mm, level, prefix, frame)) {
          out.add({ iommu: i, did, pasid, mm: mm.slot, level, frame },
            `${u.name} paging-structure cache DID ${did} PASID ${pasid} level ${level} prefix 0x${prefix.toString(16)} → table ${frame} is no longer mm${mm.slot}'s table there`);
        }
      }
    }
    for (const [key, e] of pasidCacheOf(u)) {
      const sid = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      if (!samePasidEntry(e, u.pasidTable(sid)?.fetch(pasid))) {
        out.add({ iommu: i, sid, pasid }, `${u.name} PASID cache (sid ${sid}, PASID ${pasid}) holds an entry that differs from the PASID table`);
      }
    }
  }
}
