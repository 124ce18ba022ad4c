/**
 * I12 on VT-d: what one notifier invalidation may cost on each unit, from the domain's cache
 * tags: one P_IOTLB per IOTLB tag (one per (IOMMU, PASID)), one device-TLB invalidation per
 * DEVTLB tag (twice on errata parts), one wait per batch of QI_MAX_BATCHED_DESC_COUNT, nothing
 * else, and no device invalidated twice.
 */
import { QI_MAX_BATCHED_DESC_COUNT } from '../../src/impl/vtd/cache.js';
import { dev_iommu_priv_get, type DmarDomain } from '../../src/impl/vtd/dmar.js';
import type { CheckContext } from '../invariant.js';
import { invalidationSlice } from './events.js';
import type { Sink } from './platform.js';

export function checkVtdCost(ctx: CheckContext, out: Sink): void {
  // An unbind invalidates only through its page-request drain (a fault that upgrades a PTE), and
  // may free the very domains the cost is computed from later in the same step: not costed.
  if (ctx.cmd.kind === 'unbind') return;
  const { probe } = ctx;
  const inv = probe.invalidations;
  for (let i = 0; i < inv.n; i++) {
    const mm = inv.mm[i]!;
    for (let u = 0; u < probe.units.length; u++) {
      let iotlbTags = 0;
      let devtlbTags = 0;
      for (const sub of mm.notifiers) {
        for (const tag of (sub.container as DmarDomain).cache_tags) {
          if (tag.iommu.index !== u) continue;
          if (tag.type === 'IOTLB') iotlbTags++;
          else devtlbTags += dev_iommu_priv_get(tag.dev!).dtlb_extra_inval ? 2 : 1;
        }
      }
      const log = probe.units[u]!;
      const { from, to } = invalidationSlice(probe, i, u);
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
      const descs = iotlbTags + devtlbTags;
      const batches = Math.ceil(descs / QI_MAX_BATCHED_DESC_COUNT);
      if (piotlb === iotlbTags && devtlb === devtlbTags && waits === batches && other === 0 && dup < 0) continue;
      out.add({ iommu: u, mm: mm.slot, piotlb, devtlb, waits },
        `${log.name}: invalidation ${i} of mm${mm.slot} cost ${piotlb} P_IOTLB, ${devtlb} devTLB, ${waits} waits, ${other} other descriptors` +
        `${dup >= 0 ? ` (sid ${dup} twice)` : ''}; the cache tags ask for ${iotlbTags}, ${devtlbTags}, ${batches}, 0`);
    }
  }
}
