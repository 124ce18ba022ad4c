import { invRange, type AmdCmd, type AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { invalidationRanges } from '../../../properties/hardware/invalidationRanges.js';
import type { QiDesc } from '../../../src/hw/vtd/descriptor.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import type { MmuNotifierOps } from '../../../src/impl/index.js';
import { bench, holdsOnRandomWalks, ids, setup, wrapSubmit } from './helpers.js';

describe('I14 invalidation ranges', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(invalidationRanges, platform);
  });

  test('holds on a kernel-range flush (vfree: PAGE_OFFSET to ULONG_MAX, x86)', () => {
    const b = bench('vtd');
    setup(b, 0, [0, 3]);
    b.run({ kind: 'vmalloc', kpage: 0 }, { kind: 'vfree', kpage: 0 });
    expect(b.probe.invalidations.n).toBe(1);
    expect(b.check(invalidationRanges)).toEqual([]);
  });

  test.each(PLATFORMS)('holds on a multi-page munmap across page tables on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0, 3], [0, 1, 2, 3]);
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 4 });
    expect(b.probe.invalidations.n).toBe(1);
    expect(b.check(invalidationRanges)).toEqual([]);
  });

  test('fires when a page-selective P_IOTLB is one page short (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) =>
      submit(d.kind === 'piotlb' && d.granularity === 'page' ? { ...d, am: d.am - 1 } : d));
    // Pages 0 and 1 are adjacent vpns: a two-page flush, am = 1.
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 2 });
    const v = b.check(invalidationRanges);
    expect(ids(v)).toEqual(['I14']);
    expect(v[0]!.message).toContain('P_IOTLB');
  });

  test('fires on size = end - start + 1 (B11) without RANGE_INV (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [3]);
    for (const n of b.world.mms[0]!.notifiers) {
      const orig = n.ops.arch_invalidate_secondary_tlbs;
      (n as { ops: MmuNotifierOps }).ops = { ...n.ops, arch_invalidate_secondary_tlbs: (mn, mm, s, e) => orig(mn, mm, s, e + 1n) };
    }
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(invalidationRanges).map((x) => x.message)).toEqual([expect.stringContaining("beyond the range's last page")]);
  });

  test('fires when a range TLBI leaves a gap (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [3]);
    for (const n of b.world.mms[0]!.notifiers) {
      const orig = n.ops.arch_invalidate_secondary_tlbs;
      (n as { ops: MmuNotifierOps }).ops = { ...n.ops, arch_invalidate_secondary_tlbs: (mn, mm, s, e) => orig(mn, mm, s + 4096n, e) };
    }
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 2 });
    const v = b.check(invalidationRanges);
    expect(ids(v)).toEqual(['I14']);
    expect(v.map((x) => x.message)).toContain('smmu1: TLBI_NH_VA commands leave vpn 0x40000 of [0x40000, 0x40001] uninvalidated');
  });
});

describe('I14 on AMD', () => {
  test('holds on a multi-page munmap: the aligned block with the size in its low one bits covers it', () => {
    const b = bench('amd');
    setup(b, 0, [0], [0, 1, 2, 3]);
    b.run({ kind: 'munmap', mm: 0, first: 1, count: 3 });
    expect(b.check(invalidationRanges)).toEqual([]);
    // [vpn 0x40001, +513): the munmap freed the PTE table, so the flush spans it; the smallest
    // naturally aligned block holding both ends is 1024 pages.
    const e = b.probe.units[0]!.events[0]!;
    expect(e.kind === 'INVALIDATE_IOMMU_PAGES' && invRange(e.address, e.s)).toEqual({ first: 0x40000, pages: 1024 });
  });

  test('fires when the flush names one page of a three-page range (S clear)', () => {
    const b = bench('amd');
    setup(b, 0, [0], [0, 1, 2, 3]);
    wrapSubmit<AmdCmd>(b.world.iommus[0]!.unit as AmdIommuUnit, (c, submit) => {
      submit(c.kind === 'INVALIDATE_IOMMU_PAGES' || c.kind === 'INVALIDATE_IOTLB_PAGES' ? { ...c, s: false } : c);
    });
    b.run({ kind: 'munmap', mm: 0, first: 1, count: 3 });
    const v = b.check(invalidationRanges);
    expect(ids(v)).toEqual(['I14']);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringMatching(/^amd0: INVALIDATE_IOMMU_PAGES \[0x[0-9a-f]+, \+1\) misses vpns/),
      expect.stringMatching(/^amd0: INVALIDATE_IOTLB_PAGES \[0x[0-9a-f]+, \+1\) misses vpns/),
    ]);
  });
});
