/**
 * I12 on VT-d: what one notifier invalidation may cost on each unit, from the domain's cache
 * tags: one P_IOTLB per IOTLB tag (one per (IOMMU, PASID)), one device-TLB invalidation per
 * DEVTLB tag (twice on errata parts), one wait per batch of QI_MAX_BATCHED_DESC_COUNT of each domain, nothing
 * else, and no device invalidated twice. The tags are those the probe read when the notifier
 * was called (invalidationInputs.ts), so a step that frees the domain afterwards costs the same.
 */
import { dev_iommu_priv_get } from '../../src/impl/vtd/dmar.js';
import type { CheckContext } from '../invariant.js';
import { eachInvalidationSlice, type InvalidationSlice } from './events.js';
import type { Sink } from './platform.js';

function sliceCost(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const wanted = ctx.probe.invalidations.inputs;
  const iotlbTags = wanted.iotlbTags[at]!;
  const devtlbTags = wanted.devtlbTags[at]! + wanted.devtlbExtra[at]!;
  let piotlb = 0, devtlb = 0, waits = 0, other = 0, dup = -1;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind === 'piotlb') piotlb++;
    else if (e.kind === 'wait') waits++;
    else if (e.kind === 'devtlb') {
      devtlb++;
      for (let j = from; j < k && dup < 0; j++) {
        const f = log.events[j]!;
        if (f.kind === 'devtlb' && f.sid === e.sid && f.pasid === e.pasid && !dev_iommu_priv_get(ctx.world.devices[e.sid]!).dtlb_extra_inval) dup = e.sid;
      }
    } else if (e.kind !== 'completion') other++;
  }
  const batches = wanted.batches[at]!;
  if (piotlb === iotlbTags && devtlb === devtlbTags && waits === batches && other === 0 && dup < 0) return;
  out.add({ iommu: u, mm: mm.slot, piotlb, devtlb, waits },
    `${log.name}: invalidation ${i} of mm${mm.slot} cost ${piotlb} P_IOTLB, ${devtlb} devTLB, ${waits} waits, ${other} other descriptors` +
    `${dup >= 0 ? ` (sid ${dup} twice)` : ''}; the cache tags ask for ${iotlbTags}, ${devtlbTags}, ${batches}, 0`);
}

export const checkVtdCost = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, sliceCost);
