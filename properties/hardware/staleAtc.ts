/**
 * I6's device half, the same on both platforms: every ATC entry of every device must agree with
 * the page tables of the mm that owns its PASID, and no entry may carry a PASID that is free.
 */
import type { World } from '../../src/impl/index.js';
import { leafIsStale, mmOfPasid } from './cpuWalk.js';
import type { Sink } from './platform.js';
import { atcOf } from './vtdRead.js';

export function checkAtcs(world: World, out: Sink): void {
  const devices = world.devices;
  for (let d = 0; d < devices.length; d++) {
    const hw = devices[d]!.hw;
    if (!hw.ats) continue;
    for (const [pasid, m] of atcOf(hw)) {
      if (m.size === 0) continue;
      const mm = mmOfPasid(world, pasid);
      if (mm === undefined) {
        out.add({ dev: d, pasid, entries: m.size }, `${hw.name} ATC keeps ${m.size} entries tagged with PASID ${pasid}, which no mm owns (free, reusable)`);
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
