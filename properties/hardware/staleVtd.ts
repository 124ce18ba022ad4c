/**
 * I6 on VT-d: each unit's IOTLB and paging-structure cache against the page tables of the mm
 * owning the PASID tag (or of the iommufd paging domain attached there with that DID; the
 * second-stage-only IOTLB entries against the domain holding their DID; the nested entries
 * against the nested domain attached there with that DID, both stages composed), and its PASID cache
 * against the PASID tables in memory. Each cache is
 * walked once; a tag is resolved to its mm once per (DID, PASID).
 */
import { pscFrame } from '../../src/hw/vtd/psc.js';
import type { World } from '../../src/impl/index.js';
import { ioPointerIsStale, leafIsStale, mmOfPasid, pagingTableOfTag, pointerIsStale, reportStaleIoLeaves } from './cpuWalk.js';
import type { Sink } from './platform.js';
import { PASID_SPACE, iotlbOf, nestedIotlbOf, pasidCacheOf, pscOf, samePasidEntry, slIotlbOf, vtdUnits } from './vtdRead.js';
import { walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';
import { IDA_START_DID } from '../../src/impl/vtd/did.js';
import { Radix } from '../../src/hw/radix.js';

export function checkVtdCaches(world: World, out: Sink): void {
  const units = vtdUnits(world);
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!.unit;
    for (const [key, m] of iotlbOf(u)) {
      if (m.size === 0) continue;
      const did = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      // SVA entries carry FLPT_DEFAULT_DID; a paging domain's carry a DID of its own, and its
      // PASID is the caller's (it may be an mm's number too, on another group).
      const paging = did >= IDA_START_DID;
      const mm = paging ? undefined : mmOfPasid(world, pasid);
      if (mm === undefined) {
        const pt = paging ? pagingTableOfTag(world, units[i]!, did, pasid) : undefined;
        if (pt === undefined) {
          out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} IOTLB keeps ${m.size} entries tagged DID ${did} PASID ${pasid}, which no mm or attached paging domain owns`);
          continue;
        }
        reportStaleIoLeaves(pt, m, { iommu: i, did, pasid }, () => `${u.name} IOTLB entry DID ${did} PASID ${pasid}`, "the paging domain's table", out);
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
      const paging = did >= IDA_START_DID;
      const mm = paging ? undefined : mmOfPasid(world, pasid);
      if (mm === undefined) {
        const pt = paging ? pagingTableOfTag(world, units[i]!, did, pasid) : undefined;
        if (pt === undefined) {
          out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} paging-structure cache keeps ${m.size} entries tagged DID ${did} PASID ${pasid}, which no mm or attached paging domain owns`);
          continue;
        }
        // A nested walk caches no paging structure (walk.ts: nestedTranslate): any is foreign.
        if (!(pt instanceof Radix)) {
          out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} paging-structure cache keeps ${m.size} entries tagged with the nested DID ${did} PASID ${pasid}, which no walk fills`);
          continue;
        }
        for (const [k, packed] of m) {
          const level = walkKeyLevel(k);
          const prefix = walkKeyPrefix(k);
          if (ioPointerIsStale(world.kernel.mem, pt, level, prefix, pscFrame(packed))) {
            out.add({ iommu: i, did, pasid, level }, `${u.name} paging-structure cache DID ${did} PASID ${pasid} level ${level} prefix 0x${prefix.toString(16)} is no longer the paging domain's table there`);
          }
        }
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
    // Nested (combined) entries, tagged (DID, PASID): against the guest's stage-1 leaf composed
    // with the parent's leaf for its GPA, whichever changed last (the guest's unmap with its
    // invalidation, or the host's unmap from the parent with the parent's flush).
    for (const [key, m] of nestedIotlbOf(u)) {
      if (m.size === 0) continue;
      const did = Math.floor(key / PASID_SPACE);
      const pasid = key % PASID_SPACE;
      const pt = pagingTableOfTag(world, units[i]!, did, pasid);
      if (pt === undefined || pt instanceof Radix) {
        out.add({ iommu: i, did, pasid, entries: m.size }, `${u.name} IOTLB keeps ${m.size} nested entries tagged DID ${did} PASID ${pasid}, which no attached nested domain owns`);
        continue;
      }
      reportStaleIoLeaves(pt, m, { iommu: i, did, pasid }, () => `${u.name} IOTLB nested entry DID ${did} PASID ${pasid}`, "the guest's stage-1 table composed with the parent's", out);
    }
    // Second-stage-only entries (DID-tagged): a DID no attached paging domain holds on this unit
    // is free and will be handed to the next domain, which would then hit these entries.
    for (const [did, m] of slIotlbOf(u)) {
      if (m.size === 0) continue;
      const pt = pagingTableOfTag(world, units[i]!, did, undefined);
      if (pt === undefined) {
        out.add({ iommu: i, did, entries: m.size }, `${u.name} IOTLB keeps ${m.size} second-stage entries tagged DID ${did}, which no attached paging domain holds`);
        continue;
      }
      reportStaleIoLeaves(pt, m, { iommu: i, did }, () => `${u.name} IOTLB second-stage entry DID ${did}`, "the paging domain's table", out);
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
