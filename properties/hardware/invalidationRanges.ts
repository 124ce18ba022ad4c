import { MAX_AGAW_PFN_WIDTH } from '../../src/hw/vtd/descriptor.js';
import { ATC_INV_SIZE_ALL, tlbiPages } from '../../src/hw/smmuv3/index.js';
import { ULONG_MAX } from '../../src/shared/index.js';
import { invRange } from '../../src/hw/amd/index.js';
import type { CheckContext, Invariant } from '../invariant.js';
import { eachInvalidationSlice, type InvalidationSlice } from './events.js';
import { perPlatform, type Sink } from './platform.js';
import { checkNestedRanges } from './nestedFlush.js';

/** Whether the aligned block [addr, addr + 2^order) covers vpns [first, last]. */
const covers = (addr: number, order: number, first: number, last: number): boolean =>
  order >= MAX_AGAW_PFN_WIDTH || (addr <= first && addr + 2 ** order - 1 >= last);

/** The vpn range [first, last] of invalidation i: [start, end) in bytes, end exclusive. */
const span = (ctx: CheckContext, i: number): { first: number; last: number; all: boolean } => {
  const inv = ctx.probe.invalidations;
  const start = inv.start[i]!;
  const end = inv.end[i]!;
  return { first: Number(start >> 12n), last: Number((end - 1n) >> 12n), all: start === 0n && end === ULONG_MAX };
};

function vtdSlice(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { first, last, all } = span(ctx, i);
  let iotlb = 0;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    const objects = { iommu: u, mm: mm.slot, at: k };
    if (e.kind === 'piotlb') {
      iotlb++;
      if (e.granularity === 'pasid') continue;
      if (all) out.add(objects, `${log.name}: (0, ULONG_MAX) flushed as a page range (addr 0x${e.addr.toString(16)}, am ${e.am}), not PASID-selective`);
      else if (!covers(e.addr, e.am, first, last)) out.add(objects, `${log.name}: P_IOTLB [0x${e.addr.toString(16)}, +2^${e.am}) misses vpns [0x${first.toString(16)}, 0x${last.toString(16)}]`);
    } else if (e.kind === 'devtlb' && !e.global && !all && !covers(e.addr, e.sizeOrder, first, last)) {
      out.add(objects, `${log.name}: devTLB [0x${e.addr.toString(16)}, +2^${e.sizeOrder}) misses vpns [0x${first.toString(16)}, 0x${last.toString(16)}]`);
    }
  }
  // The IOTLB tags as the probe read them at the notifier call (the domain may be gone by now).
  const tagged = ctx.probe.invalidations.inputs.iotlbTags[at]! > 0;
  if (tagged && iotlb === 0) out.add({ iommu: u, mm: mm.slot }, `${log.name}: no IOTLB invalidation for mm${mm.slot}'s range [0x${first.toString(16)}, 0x${last.toString(16)}]`);
}

function smmuSlice(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { first, last, all } = span(ctx, i);
  let asidWide = false;
  let reached = first;
  let gap = -1;
  let beyond = -1;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind === 'TLBI_NH_ASID') asidWide = true;
    else if (e.kind === 'TLBI_NH_VA') {
      if (e.addr > reached && gap < 0) gap = reached;
      reached = Math.max(reached, e.addr + tlbiPages(e));
      // A single-page TLBI past the last page means size = end - start + 1 (B11).
      if (e.tg === 0 && e.addr > last && beyond < 0) beyond = e.addr;
    } else if (e.kind === 'ATC_INV' && e.size !== ATC_INV_SIZE_ALL && !covers(e.addr, e.size, first, last)) {
      out.add({ iommu: u, mm: mm.slot, sid: e.sid, at: k }, `${log.name}: ATC_INV [0x${e.addr.toString(16)}, +2^${e.size}) misses vpns [0x${first.toString(16)}, 0x${last.toString(16)}]`);
    }
  }
  // The mm's domains on this SMMU as the probe read them at the notifier call.
  if (ctx.probe.invalidations.inputs.domains[at] === 0) return;
  const objects = { iommu: u, mm: mm.slot };
  if (all && !asidWide) out.add(objects, `${log.name}: (0, ULONG_MAX) not flushed by ASID`);
  if (asidWide) return;
  if (gap >= 0 || reached <= last) out.add(objects, `${log.name}: TLBI_NH_VA commands leave vpn 0x${(gap >= 0 ? gap : reached).toString(16)} of [0x${first.toString(16)}, 0x${last.toString(16)}] uninvalidated`);
  if (beyond >= 0) out.add(objects, `${log.name}: TLBI_NH_VA of vpn 0x${beyond.toString(16)} beyond the range's last page 0x${last.toString(16)}: size is end - start`);
}

const vtd = (ctx: CheckContext, out: Sink): void => {
  eachInvalidationSlice(ctx, out, vtdSlice);
  checkNestedRanges(ctx, out);
};
const smmuv3 = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, smmuSlice);

/** AMD: every IOMMU and IOTLB invalidation covers the range (the whole-mm form: all pages). */
function amdSlice(ctx: CheckContext, { i, u, at, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { first, last, all } = span(ctx, i);
  let pages = 0;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind !== 'INVALIDATE_IOMMU_PAGES' && e.kind !== 'INVALIDATE_IOTLB_PAGES') continue;
    if (e.kind === 'INVALIDATE_IOMMU_PAGES') pages++;
    const r = invRange(e.address, e.s);
    const ok = r.pages === Infinity || (!all && r.first <= first && r.first + r.pages - 1 >= last);
    if (!ok) out.add({ iommu: u, mm: mm.slot, at: k }, `${log.name}: ${e.kind} [0x${r.first.toString(16)}, +${r.pages}) misses ${all ? 'the whole-mm range' : `vpns [0x${first.toString(16)}, 0x${last.toString(16)}]`}`);
  }
  if (ctx.probe.invalidations.inputs.iotlbTags[at]! > 0 && pages === 0) out.add({ iommu: u, mm: mm.slot }, `${log.name}: no INVALIDATE_IOMMU_PAGES for mm${mm.slot}'s range [0x${first.toString(16)}, 0x${last.toString(16)}]`);
}
const amd = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, amdSlice);

/** I14: every invalidation covers its range as the kernel converts it, without overflow. */
export const invalidationRanges: Invariant = {
  id: 'I14',
  title: 'Invalidation ranges',
  kernelRule:
    'VT-d flushes cover [start, end - 1] (inclusive end) and treat (0, ULONG_MAX) as flush-all without overflow; SMMUv3 uses size = end - start (no +1) and falls back to TLBI by ASID for everything. VT-d nesting: the guest\'s invalidation covers its IOVA page (P_IOTLB with the nested DID, then the devTLB); a nest parent\'s unmap sends each nested user an IOTLB DSI/PSI of its nested DID covering the GPA and a whole device-TLB invalidation of its PASID.',
  source:
    'drivers/iommu/intel/svm.c: intel_arch_invalidate_secondary_tlbs; drivers/iommu/intel/cache.c: calculate_psi_aligned_address; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs (v6.17); drivers/iommu/intel/nested.c: intel_nested_cache_invalidate_user, cache.c: cache_tag_flush_range (NESTING_DEVTLB, v7.0); bugs B11, B12',
  check: perPlatform('I14', { vtd, smmuv3, amd }),
};
