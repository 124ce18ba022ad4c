import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer of CVE-2025-71202: the adversary walks a vmalloc'd kernel page
 * through a bound mm's PASID (the supervisor leaf faults, the upper levels stay in the
 * paging-structure cache), then vfree frees that kernel PTE table without telling the IOMMU.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'vmalloc', kpage: 0 },
  { kind: 'prefetchKernel', dev: 0, mm: 0, kpage: 0 },
  { kind: 'vfree', kpage: 0 },
];
const t = defaultTopology('vtd');

describe('B14: kernel page-table pages freed without flushing the SVA paging caches (CVE-2025-71202, e37d5a2d60a3)', () => {
  test('vfree leaves the IOMMU pointing at the freed kernel PTE table (I6, I15); the fixed kernel flushes first', () => {
    const bad = runSequence(t, HAND, { fault: 'B14' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I6', step: 4 });
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test('The freed table is what I15 names; the kernel-page prefetch alone is harmless', () => {
    const s = openSession(t, { fault: 'B14' });
    const found = HAND.map((c) => checkedStep(s, c).map((v) => v.invariant));
    expect(found.slice(0, 4)).toEqual([[], [], [], []]);
    expect(found[4]).toEqual(expect.arrayContaining(['I6', 'I15']));
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    // 400 runs: it took 213-263 on these seeds once stopMarker and the nested HWPT's guest
    // commands joined the draws (fewer vmalloc/vfree/prefetchKernel per run).
    const f = findFault('B14', { platform: 'vtd', seed, runs: 400 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
