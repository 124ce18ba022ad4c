/**
 * I6 on SMMUv3: each unit's TLB and walk cache against the page tables of the mm whose domain
 * holds the ASID tag, or of the iommufd paging domain holding it (its io-pgtable; a free ASID,
 * or one now held by another SMMU's domain, may be reused), and
 * its STE/CD configuration cache against the tables in memory. Each cache is walked once.
 */
import type { World } from '../../src/impl/index.js';
import type { ArmSmmuDomain } from '../../src/impl/smmuv3/structs.js';
import type { SmmuV3 } from '../../src/hw/smmuv3/index.js';
import { ioPointerIsStale, leafIsStale, pointerIsStale, reportStaleIoLeaves } from './cpuWalk.js';
import type { Sink } from './platform.js';
import { SSID_SPACE, asidOwner, cdCacheOf, memoryCd, sameCd, sameSte, smmuUnits, steCacheOf, tlbOf, walkCacheOf } from './smmuRead.js';
import { walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';

/** A paging domain's io-pgtable (its stage-1 ASID tags TLB and walk-cache entries); undefined for SVA. */
const pagingTable = (d: ArmSmmuDomain) => (d.domain.type === 'PAGING' ? d.pgtbl?.radix : undefined);

/** The domain owning `asid` on unit `u`, or undefined after reporting why the tag is dead. */
function owner(world: World, u: SmmuV3, i: number, asid: number, what: string, entries: number, out: Sink): ArmSmmuDomain | undefined {
  const d = asidOwner(world, asid);
  if (d === undefined) {
    out.add({ iommu: i, asid, entries }, `${u.name} ${what} keeps ${entries} entries tagged with ASID ${asid}, which is free`);
    return undefined;
  }
  if (d.smmu.unit !== u) {
    out.add({ iommu: i, asid, entries }, `${u.name} ${what} keeps ${entries} entries tagged with ASID ${asid}, now owned by a domain of ${d.smmu.unit.name}`);
    return undefined;
  }
  return d;
}

export function checkSmmuCaches(world: World, out: Sink): void {
  const units = smmuUnits(world);
  for (let i = 0; i < units.length; i++) {
    const u = units[i]!.unit;
    for (const [asid, m] of tlbOf(u)) {
      if (m.size === 0) continue;
      const d = owner(world, u, i, asid, 'TLB', m.size, out);
      const pt = d === undefined ? undefined : pagingTable(d);
      if (pt !== undefined) {
        // A paging domain's ASID: its entries are checked against its io-pgtable.
        reportStaleIoLeaves(pt, m, { iommu: i, asid }, () => `${u.name} TLB entry ASID ${asid}`, "the paging domain's table", out);
        continue;
      }
      const mm = d?.domain.mm;
      if (mm === undefined) continue;
      for (const [vpn, t] of m) {
        if (leafIsStale(mm, vpn, t.frame, t.write)) {
          out.add({ iommu: i, asid, mm: mm.slot, vpn, frame: t.frame },
            `${u.name} TLB entry ASID ${asid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' ro'} disagrees with mm${mm.slot}'s page tables`);
        }
      }
    }
    for (const [asid, m] of walkCacheOf(u)) {
      if (m.size === 0) continue;
      const d = owner(world, u, i, asid, 'walk cache', m.size, out);
      const pt = d === undefined ? undefined : pagingTable(d);
      if (pt !== undefined) {
        for (const [k, frame] of m) {
          const level = walkKeyLevel(k);
          const prefix = walkKeyPrefix(k);
          if (ioPointerIsStale(world.kernel.mem, pt, level, prefix, frame)) {
            out.add({ iommu: i, asid, level, frame }, `${u.name} walk cache ASID ${asid} level ${level} prefix 0x${prefix.toString(16)} → table ${frame} is no longer the paging domain's table there`);
          }
        }
        continue;
      }
      const mm = d?.domain.mm;
      if (mm === undefined) continue;
      for (const [k, frame] of m) {
        const level = walkKeyLevel(k);
        const prefix = walkKeyPrefix(k);
        if (pointerIsStale(mm, level, prefix, frame)) {
          out.add({ iommu: i, asid, mm: mm.slot, level, frame },
            `${u.name} walk cache ASID ${asid} level ${level} prefix 0x${prefix.toString(16)} → table ${frame} is no longer mm${mm.slot}'s table there`);
        }
      }
    }
    for (const [sid, ste] of steCacheOf(u)) {
      if (!sameSte(ste, u.streamTable.fetch(sid))) out.add({ iommu: i, sid }, `${u.name} STE cache for SID ${sid} differs from the stream table`);
    }
    for (const [key, cd] of cdCacheOf(u)) {
      const sid = Math.floor(key / SSID_SPACE);
      const ssid = key % SSID_SPACE;
      if (!sameCd(cd, memoryCd(u, sid, ssid))) {
        out.add({ iommu: i, sid, ssid, asid: cd.asid }, `${u.name} CD cache (SID ${sid}, SSID ${ssid}) differs from the CD in memory`);
      }
    }
  }
}
