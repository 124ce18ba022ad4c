import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { kernelPageTables } from '../../../properties/hardware/kernelPageTables.js';
import { kernelVpn } from '../../../src/shared/index.js';
import { bench, holdsOnRandomWalks, ids, pasidOf, setup, type Bench } from './helpers.js';

/** The hardware adversary walks a kernel address through the PASID: the supervisor leaf faults, the upper levels stay cached. */
const walkKernel = (b: Bench, dev: number, kpage: number): void => b.world.devices[dev]!.hw.prefetch(pasidOf(b, 0), kernelVpn(kpage));

describe('I15 kernel page tables', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(kernelPageTables, platform);
  });

  test('holds when vfree flushes the SVA mms before freeing the table (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    walkKernel(b, 0, 0);
    b.run({ kind: 'vfree', kpage: 0 });
    expect(b.check(kernelPageTables)).toEqual([]);
  });

  test('fires when a kernel PTE table is freed with a cached pointer to it (CVE-2025-71202, VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    walkKernel(b, 0, 0);
    // The pre-6.18 kernel: no iommu_sva_invalidate_kva_range before the table is freed.
    b.world.core.sva.present = false;
    b.run({ kind: 'vfree', kpage: 0 });
    const v = b.check(kernelPageTables);
    expect(ids(v)).toEqual(['I15']);
    expect(v[0]!.message).toMatch(/kernel table frame \d+ \(level 1, .*\), now freed/);
    // The frame is reused: the message says so.
    b.run({ kind: 'vmalloc', kpage: 1 });
    expect(b.check(kernelPageTables)[0]!.message).toMatch(/now reused as (table|data)/);
  });

  test('an SVA walk of a kernel address caches nothing on arm64: the kernel lives behind TTB1 (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    walkKernel(b, 0, 0);
    expect(b.check(kernelPageTables)).toEqual([]);
  });

  test('fires when the SMMU walk cache holds a kernel-half (TTB1) table pointer (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    expect(b.check(kernelPageTables)).toEqual([]);
    // Crafted: a model that walked TTB0 into the kernel half would leave this behind.
    const unit = b.world.iommus[0]!.unit as unknown as { walkCache: { fill(asid: number, level: number, prefix: number, table: number): void } };
    const asid = (b.world.mms[0]!.iommu_mm!.sva_domains[0]!.container as { cd: { asid: number } }).cd.asid;
    unit.walkCache.fill(asid, 3, Math.floor(kernelVpn(0) / 512 ** 3), b.world.kernel.mem.frameCount - 1);
    const v = b.check(kernelPageTables);
    expect(ids(v)).toEqual(['I15']);
    expect(v[0]!.message).toContain('kernel-half (TTB1) table pointer');
  });
});

describe('I15 on AMD', () => {
  test('holds when vfree flushes the SVA mms before freeing the table', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    walkKernel(b, 0, 0);
    b.run({ kind: 'vfree', kpage: 0 });
    expect(b.check(kernelPageTables)).toEqual([]);
  });

  test('fires when a kernel PTE table is freed with a cached page-directory pointer to it (CVE-2025-71202 on AMD)', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    b.run({ kind: 'vmalloc', kpage: 0 });
    walkKernel(b, 0, 0);
    b.world.core.sva.present = false;
    b.run({ kind: 'vfree', kpage: 0 });
    const v = b.check(kernelPageTables);
    expect(ids(v)).toEqual(['I15']);
    expect(v[0]!.message).toMatch(/^amd0 .*kernel table frame \d+ \(level 1, .*\), now freed/);
  });
});
