import type { Invariant } from '../invariant.js';
import { lastUnbind } from './lastUnbind.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { hwQueued, kernelPending, lostGroup, workQueued } from './priRead.js';

/** Every platform alike: after the last unbind, nothing of (dev, PASID) is left anywhere. */
const check: PlatformCheck = (ctx, out) => {
  const gone = lastUnbind(ctx);
  if (gone === undefined) return;
  const { pasid } = gone;
  for (const dev of gone.devs) {
    const pri = dev.hw.priState;
    if (pri === undefined) continue;
    const objects = { dev: dev.id, pasid };
    const where: [string, number][] = [
      [`queued in ${dev.iommu.unit.name}'s hardware queue`, hwQueued(ctx.world, dev).filter((r) => r.pasid === pasid).length],
      ['reported and awaiting a response', kernelPending(dev).filter((r) => r.pasid === pasid).length],
      ['on the IOPF workqueue', workQueued(dev).filter((r) => r.pasid === pasid).length],
      // A group whose LAST the IOMMU discarded unanswered (AMD PPR log overflow) waits for good
      // whatever the kernel does: the IOMMU's loss, not the unbind's (I-PRI-ONCE sees it held nowhere).
      ['outstanding at the device', pri.outstanding.filter((r) => r.pasid === pasid && !lostGroup(pri.outstanding, r)).length],
    ];
    for (const [what, n] of where) {
      if (n > 0) out.add(objects, `${dev.hw.name} PASID ${pasid}: ${n} page request(s) still ${what} after the last unbind`);
    }
  }
};

/** I-PRI-DRAIN: unbind returns only once every page request of (dev, PASID) is answered. */
export const priDrain: Invariant = {
  id: 'I-PRI-DRAIN',
  title: 'After the last unbind, no page request of (dev, PASID) is pending',
  kernelRule:
    'Unbind flushes the PASID\'s page requests: the driver drains its hardware queue, runs the IOPF work (iopf_queue_flush_dev) and answers everything, so none is queued, in flight or awaiting a response when unbind returns.',
  source:
    'drivers/iommu/iommu-sva.c: iommu_sva_unbind_device (kdoc); drivers/iommu/intel/prq.c: intel_iommu_drain_pasid_prq; drivers/iommu/io-pgfault.c: iopf_queue_flush_dev (v6.17); bug B05',
  check: perPlatform('I-PRI-DRAIN', { vtd: check, smmuv3: check, amd: check }),
};
