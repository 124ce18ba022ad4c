/**
 * I12's other direction: an invalidation no broader than the kernel's conversion of its range.
 * - VT-d (cache.c: cache_tag_flush_range, calculate_psi_aligned_address): a range other than
 *   (0, ULONG_MAX) becomes one naturally aligned block, and every P_IOTLB and PASID device-TLB
 *   invalidation of it is page-selective with that block's mask; a PASID-selective flush (or a
 *   wider mask) for a one-page mprotect drops every other translation of the PASID.
 * - SMMUv3 (arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs; arm-smmu-v3.c:
 *   arm_smmu_atc_inv_to_cmd): TLBI by ASID only for (0, ULONG_MAX) or, without RANGE_INV, for
 *   CMDQ_MAX_TLBI_OPS pages or more; otherwise ATC_INV spans the smallest aligned block
 *   holding the range (log2_span = fls(page_start ^ page_end)).
 * - AMD (amd/pasid.c: sva_arch_invalidate_secondary_tlbs → amd_iommu_dev_flush_pasid_pages;
 *   amd/iommu.c: build_inv_address, v6.19-rc): a range other than (0, ULONG_MAX) is one page
 *   (S clear) or the naturally aligned block holding both ends (msb of start ^ end), so every
 *   INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES of it covers at most 2^fls(first ^ last)
 *   pages; "all pages" only where the ends differ above bit 51.
 * Whole flushes are the kernel's choice where the rule allows them (x86's batched unmap sends
 * (0, -1): that is the notifier's range, not a widening by the driver).
 */
import { invRange } from '../../src/hw/amd/index.js';
import { ATC_INV_SIZE_ALL } from '../../src/hw/smmuv3/index.js';
import { calculate_psi_aligned_address } from '../../src/impl/vtd/cache.js';
import { ULONG_MAX } from '../../src/shared/index.js';
import type { CheckContext } from '../invariant.js';
import { eachInvalidationSlice, type InvalidationSlice } from './events.js';
import type { Sink } from './platform.js';

/** CMDQ_MAX_TLBI_OPS at 4 KiB pages (arm-smmu-v3.h: 1 << (PAGE_SHIFT - 3)). */
const CMDQ_MAX_TLBI_OPS = 512;

const range = (ctx: CheckContext, i: number): { start: bigint; end: bigint; all: boolean } => {
  const inv = ctx.probe.invalidations;
  const start = inv.start[i]!;
  const end = inv.end[i]!;
  return { start, end, all: start === 0n && end === ULONG_MAX };
};

function vtdSlice(ctx: CheckContext, { i, u, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { start, end, all } = range(ctx, i);
  if (all || from === to) return;
  const { mask } = calculate_psi_aligned_address(start, end - 1n);
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    const objects = { iommu: u, mm: mm.slot, at: k };
    if (e.kind === 'piotlb') {
      if (e.granularity === 'pasid') out.add(objects, `${log.name}: PASID-selective P_IOTLB of PASID ${e.pasid} for mm${mm.slot}'s range [0x${start.toString(16)}, 0x${end.toString(16)}), whose aligned block is 2^${mask} pages`);
      else if (e.am > mask) out.add(objects, `${log.name}: P_IOTLB of 2^${e.am} pages for a range whose aligned block is 2^${mask}`);
    } else if (e.kind === 'devtlb' && e.pasid !== 0 && (e.global || e.sizeOrder > mask)) {
      out.add(objects, `${log.name}: device-TLB invalidation of ${e.global ? 'every PASID' : `2^${e.sizeOrder} pages`} for a range whose aligned block is 2^${mask}`);
    }
  }
}

/**
 * fls_long(first page ^ last page) of [start, end): the log2 of the smallest naturally aligned
 * block of pages holding the range. In bigint: kernel addresses' page numbers pass 2^32, where
 * JavaScript's `^` would cut them.
 */
const spanLog2 = (start: bigint, end: bigint): number => {
  const diff = (start >> 12n) ^ ((end - 1n) >> 12n);
  return diff === 0n ? 0 : diff.toString(2).length;
};

function smmuSlice(ctx: CheckContext, { i, u, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { start, end, all } = range(ctx, i);
  if (all || from === to) return;
  const pages = Number((end - start) >> 12n);
  const asidAllowed = !ctx.world.topology.iommus[u]!.rangeInv && pages >= CMDQ_MAX_TLBI_OPS;
  if (asidAllowed) return;
  const span = spanLog2(start, end);
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    const objects = { iommu: u, mm: mm.slot, at: k };
    if (e.kind === 'TLBI_NH_ASID') out.add(objects, `${log.name}: TLBI by ASID ${e.asid} for mm${mm.slot}'s ${pages}-page range (RANGE_INV ${ctx.world.topology.iommus[u]!.rangeInv ? 'on' : 'off'})`);
    else if (e.kind === 'ATC_INV' && (e.size === ATC_INV_SIZE_ALL || e.size > span)) {
      out.add(objects, `${log.name}: ATC_INV of 2^${e.size} pages on sid ${e.sid} for a range whose aligned span is 2^${span}`);
    }
  }
}

function amdSlice(ctx: CheckContext, { i, u, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  const { start, end, all } = range(ctx, i);
  if (all || from === to) return;
  const span = spanLog2(start, end);
  // Ends differing above address bit 51 (span past 40 page bits): build_inv_address flushes all.
  if (span > 40) return;
  const block = 2 ** span;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind !== 'INVALIDATE_IOMMU_PAGES' && e.kind !== 'INVALIDATE_IOTLB_PAGES') continue;
    const { pages } = invRange(e.address, e.s);
    if (pages <= block) continue;
    out.add({ iommu: u, mm: mm.slot, at: k },
      `${log.name}: ${e.kind} of ${pages === Infinity ? 'all pages' : `${pages} pages`} for mm${mm.slot}'s range [0x${start.toString(16)}, 0x${end.toString(16)}), whose aligned block is ${block} pages`);
  }
}

export const checkVtdBreadth = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, vtdSlice);
export const checkSmmuBreadth = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, smmuSlice);
export const checkAmdBreadth = (ctx: CheckContext, out: Sink): void => eachInvalidationSlice(ctx, out, amdSlice);
