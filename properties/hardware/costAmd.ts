/**
 * I12 on AMD: what one notifier invalidation may cost on each unit, from the mm's domains'
 * pdom_dev_data as the probe read them at the call: per attachment one INVALIDATE_IOMMU_PAGES,
 * one INVALIDATE_IOTLB_PAGES if its device has ATS, and one COMPLETION_WAIT
 * (amd_iommu_dev_flush_pasid_pages waits per device); nothing else.
 */
import type { CheckContext } from '../invariant.js';
import { eachInvalidationSlice, type InvalidationSlice } from './events.js';
import type { Sink } from './platform.js';

function sliceCost(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const wanted = ctx.probe.invalidations.inputs;
  const attachments = wanted.iotlbTags[at]!;
  const ats = wanted.devtlbTags[at]!;
  let pages = 0, iotlb = 0, waits = 0, other = 0;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind === 'INVALIDATE_IOMMU_PAGES') pages++;
    else if (e.kind === 'INVALIDATE_IOTLB_PAGES') iotlb++;
    else if (e.kind === 'COMPLETION_WAIT') waits++;
    else if (e.kind !== 'completion') other++;
  }
  if (pages === attachments && iotlb === ats && waits === attachments && other === 0) return;
  out.add({ iommu: u, mm: mm.slot, pages, iotlb, waits },
    `${log.name}: invalidation ${i} of mm${mm.slot} cost ${pages} INVALIDATE_IOMMU_PAGES, ${iotlb} INVALIDATE_IOTLB_PAGES, ${waits} COMPLETION_WAITs, ${other} other commands; ` +
    `the attachments ask for ${attachments}, ${ats}, ${attachments}, 0`);
}

export const checkAmdCost = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, sliceCost);
