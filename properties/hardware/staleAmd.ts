/**
 * I6 on AMD: each unit's IOTLB and page-directory cache against the page tables of the mm
 * owning the PASID tag, its GCR3-entry cache against the GCR3 tables in memory (and never a
 * freed table), and its DTE cache against the device table.
 */
import { didPasidKey } from '../../src/hw/vtd/iotlb.js';
import { pscFrame } from '../../src/hw/vtd/psc.js';
import { walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';
import type { World } from '../../src/impl/index.js';
import { PASID_SPACE, amdUnits, iotlbOf, pscOf } from './amdRead.js';
import { leafIsStale, mmOfPasid, pointerIsStale } from './cpuWalk.js';
import type { Sink } from './platform.js';

export function checkAmdCaches(world: World, out: Sink): void {
  const units = amdUnits(world);
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!.unit;
    for (const [key, m] of iotlbOf(u)) {
      if (m.size === 0) continue;
      const domid = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const mm = mmOfPasid(world, pasid);
      if (mm === undefined) {
        out.add({ iommu: i, domid, pasid, entries: m.size }, `${u.name} IOTLB keeps ${m.size} entries tagged DomainID ${domid} PASID ${pasid}, which no mm owns`);
        continue;
      }
      for (const [vpn, t] of m) {
        if (leafIsStale(mm, vpn, t.frame, t.write)) {
          out.add({ iommu: i, domid, pasid, mm: mm.slot, vpn, frame: t.frame },
            `${u.name} IOTLB entry DomainID ${domid} PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' ro'} disagrees with mm${mm.slot}'s page tables`);
        }
      }
    }
    for (const [key, m] of pscOf(u)) {
      if (m.size === 0) continue;
      const domid = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const mm = mmOfPasid(world, pasid);
      if (mm === undefined) {
        out.add({ iommu: i, domid, pasid, entries: m.size }, `${u.name} page-directory cache keeps ${m.size} entries tagged DomainID ${domid} PASID ${pasid}, which no mm owns`);
        continue;
      }
      for (const [k, packed] of m) {
        const level = walkKeyLevel(k);
        const frame = pscFrame(packed);
        if (pointerIsStale(mm, level, walkKeyPrefix(k), frame)) {
          out.add({ iommu: i, domid, pasid, mm: mm.slot, level, frame },
            `${u.name} page-directory cache DomainID ${domid} PASID ${pasid} level ${level} → table ${frame} is no longer mm${mm.slot}'s table there`);
        }
      }
    }
    for (const [key, c] of u.gcr3Cache) {
      const domid = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const now = c.table.fetch(pasid);
      if (c.table.freed) out.add({ iommu: i, domid, pasid }, `${u.name} GCR3 cache (DomainID ${domid}, PASID ${pasid}) holds an entry of a freed GCR3 table`);
      else if (now === undefined || now.valid !== c.entry.valid || now.cr3 !== c.entry.cr3) {
        out.add({ iommu: i, domid, pasid }, `${u.name} GCR3 cache (DomainID ${domid}, PASID ${pasid}) holds CR3 ${c.entry.cr3}, memory holds ${now?.valid === true ? now.cr3 : 'no valid entry'}`);
      }
    }
    for (const [devid, dte] of u.dteCache) {
      if (u.devTable.get(devid) !== dte) out.add({ iommu: i, devid }, `${u.name} DTE cache for DevID ${devid} differs from the device table`);
    }
  }
}

/** The key the unit's IOTLB and page-directory cache use for (domid, pasid). */
export const amdTag = didPasidKey;
