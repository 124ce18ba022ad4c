/**
 * I6's device half, the same on both platforms: every ATC entry of every device must agree with
 * the page tables of the mm that owns its PASID, and no entry may carry a PASID that is free.
 */
import type { World } from '../../src/impl/index.js';
import { leafIsStale, mmOfPasid, pagingTableAt, reportStaleIoLeaves } from './cpuWalk.js';
import type { Sink } from './platform.js';
import { atcOf } from './vtdRead.js';

export function checkAtcs(world: World, out: Sink): void {
  const devices = world.devices;
  for (let d = 0; d < devices.length; d++) {
    const hw = devices[d]!.hw;
    if (!hw.ats) continue;
    for (const [pasid, m] of atcOf(hw)) {
      if (m.size === 0) continue;
      // The group's pasid_array says what the PASID is on this device: a paging domain's, or an mm's.
      const pt = pagingTableAt(world, devices[d]!.group, pasid);
      const mm = pt === undefined ? mmOfPasid(world, pasid) : undefined;
      if (pt !== undefined) {
        reportStaleIoLeaves(pt, m, { dev: d, pasid }, () => `${hw.name} ATC entry PASID ${pasid}`, "the paging domain's table", out);
        continue;
      }
      if (mm === undefined) {
        out.add({ dev: d, pasid, entries: m.size }, `${hw.name} ATC keeps ${m.size} entries tagged with PASID ${pasid}, which no mm or attached paging domain owns (free, reusable)`);
        continue;
      }
      for (const [vpn, e] of m) {
        if (leafIsStale(mm, vpn, e.frame, e.write)) {
          out.add({ dev: d, pasid, mm: mm.slot, vpn, frame: e.frame },
            `${hw.name} ATC entry PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${e.frame}${e.write ? ' rw' : ' ro'} disagrees with mm${mm.slot}'s page tables`);
        }
      }
    }
  }
}
