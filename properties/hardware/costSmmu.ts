/**
 * I12 on SMMUv3: what one notifier invalidation may cost on each SMMU, from the mm's domains
 * there: one TLBI sequence of the domain's ASID (at least one, fewer than CMDQ_MAX_TLBI_OPS
 * commands) closed by one CMD_SYNC, then one ATC_INV per stream of each ATS master_domain
 * closed by one more CMD_SYNC, and no other command and no stream invalidated twice. The
 * domains are those the probe read when the notifier was called (invalidationInputs.ts). An
 * iommufd unmap's cost is pagingSmmu.ts's.
 */
import type { CheckContext } from '../invariant.js';
import { eachInvalidationSlice, type InvalidationSlice } from './events.js';
import type { Sink } from './platform.js';
import { checkSmmuUnmapCost } from './pagingSmmu.js';

/**
 * The kernel's rule, stated here rather than taken from the impl: arm-smmu-v3.h (v6.17)
 * CMDQ_MAX_TLBI_OPS = 1 << (PAGE_SHIFT - 3), cloned from arm64's MAX_TLBI_OPS, and
 * arm_smmu_mm_arch_invalidate_secondary_tlbs turns a range of that many pages or more into one
 * TLBI by ASID. So one domain's TLBI sequence is at most CMDQ_MAX_TLBI_OPS - 1 per-page
 * commands (a RANGE_INV sequence is a dozen at most); d5afb4b47e13's soft lockup (B10) is the
 * sequence that breaks it.
 */
const PAGE_SHIFT = 12;
const CMDQ_MAX_TLBI_OPS = 1 << (PAGE_SHIFT - 3);
const MAX_TLBI = CMDQ_MAX_TLBI_OPS - 1;

function sliceCost(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const wanted = ctx.probe.invalidations.inputs;
  const domains = wanted.domains[at]!;
  const atcStreams = wanted.atsStreams[at]!;
  const syncsWanted = domains + wanted.atsDomains[at]!;
  let tlbi = 0, foreign = 0, atc = 0, syncs = 0, other = 0, dup = -1;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind === 'TLBI_NH_ASID' || e.kind === 'TLBI_NH_VA') {
      if (wanted.ownsAsid(i, e.asid)) tlbi++;
      else foreign++;
    } else if (e.kind === 'ATC_INV') {
      atc++;
      for (let j = from; j < k && dup < 0; j++) {
        const f = log.events[j]!;
        if (f.kind === 'ATC_INV' && f.sid === e.sid && f.ssid === e.ssid) dup = e.sid;
      }
    } else if (e.kind === 'CMD_SYNC') syncs++;
    else if (e.kind !== 'completion') other++;
  }
  const tlbiOk = domains === 0 ? tlbi === 0 : tlbi >= domains && tlbi <= domains * MAX_TLBI;
  if (tlbiOk && foreign === 0 && atc === atcStreams && syncs === syncsWanted && other === 0 && dup < 0) return;
  out.add({ iommu: u, mm: mm.slot, asid: wanted.asid[at]!, tlbi, atc, syncs },
    `${log.name}: invalidation ${i} of mm${mm.slot} cost ${tlbi} TLBI (${foreign} of foreign ASIDs), ${atc} ATC_INV, ${syncs} CMD_SYNC, ${other} other` +
    `${dup >= 0 ? ` (sid ${dup} twice)` : ''}; the domains ask for 1..${MAX_TLBI} TLBI per domain (${domains}), ${atcStreams} ATC_INV, ${syncsWanted} CMD_SYNC`);
}

export const checkSmmuCost = (ctx: CheckContext, out: Sink): void => {
  eachInvalidationSlice(ctx, out, sliceCost);
  checkSmmuUnmapCost(ctx, out);
};
