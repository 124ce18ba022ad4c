import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { boundRoot, lostGroup } from './priRead.js';

/**
 * Both platforms alike: every request a device still waits for was made against the address
 * space bound at its PASID now (the table root the IOMMU walked equals the pgd of the mm the
 * group's pasid_array attaches there). A request that outlives its binding would be answered
 * against a PASID that was unbound, or reassigned to another mm.
 */
const check: PlatformCheck = (ctx, out) => {
  for (const dev of ctx.world.devices) {
    const pri = dev.hw.priState;
    // A surprise-removed endpoint retries nothing (hw/device.ts retry): no answer it waits for
    // can reach an address space, and nothing could stop its open groups before it went.
    if (pri === undefined || pri.outstanding.length === 0 || dev.hw.disconnected) continue;
    for (const r of pri.outstanding) {
      // A group whose LAST the IOMMU discarded gets no response: none can reach the wrong mm.
      if (lostGroup(pri.outstanding, r)) continue;
      // A request made at a PASID the device was never given, against no table, was owed no
      // address space: a later binding's table is what its retry walks, as a DMA there would.
      if (r.unbound === true && r.root < 0) continue;
      const root = boundRoot(dev, r.pasid);
      if (root === r.root) continue;
      out.add({ dev: dev.id, pasid: r.pasid, prg: r.prgi },
        root < 0
          ? `${dev.hw.name} PRG ${r.prgi} waits on PASID ${r.pasid}, which is no longer bound: its response would reach an unbound PASID`
          : `${dev.hw.name} PRG ${r.prgi} was made against table ${r.root}, but PASID ${r.pasid} now walks table ${root}: its response would reach another mm`);
    }
  }
};

/** I-PRI-STALE: no response reaches a PASID that has been unbound or reassigned. */
export const priStale: Invariant = {
  id: 'I-PRI-STALE',
  title: 'No page request outlives its PASID binding',
  kernelRule:
    'Pending faults are flushed before a PASID is released, so they "won\'t hit the address space of the next process that uses this PASID".',
  source: 'drivers/iommu/io-pgfault.c: iopf_queue_flush_dev (kdoc); drivers/iommu/intel/pasid.c: intel_pasid_tear_down_entry (v6.17)',
  check: perPlatform('I-PRI-STALE', { vtd: check, smmuv3: check, amd: check }),
};
