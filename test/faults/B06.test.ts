import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * B06 (8798d3641119): intel_pasid_tear_down_entry always sent a PASID-based IOTLB flush, but a
 * second-level PASID entry's translations are cached by DID alone and need the domain-selective
 * flush. The shortest reproducer: a second-stage paging domain (HWPT 0, a nest parent) attached
 * at a PASID, one mapped IOVA page read by DMA, then the detach: the IOTLB keeps the entry under
 * a DID the domain gives back to the IOMMU (I6).
 */
const HAND: readonly Command[] = [
  { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 },
  { kind: 'iommuMap', hwpt: 0, page: 0, write: true },
  { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false },
  { kind: 'detachPasid', dev: 0, hwpt: 0 },
];
const t = defaultTopology('vtd');

describe('B06: teardown always P_IOTLB, even for second-level entries (fixed by 8798d3641119)', () => {
  test('The detach leaves a second-stage IOTLB entry under a freed DID (I6); mainline sends DSI', () => {
    const bad = runSequence(t, HAND, { fault: 'B06' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I6', step: 3 });
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.world.iommus[0]!.unit.counters.snapshot()['qi.iotlb_dsi']).toBeGreaterThan(0);
  });

  test('A first-stage paging domain (HWPT 1) is torn down with P_IOTLB either way: the fault does not show', () => {
    const fs = HAND.map((c) => ('hwpt' in c ? { ...c, hwpt: 1 } : c));
    const r = runSequence(t, fs, { fault: 'B06' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
  });

  // Measured since the kernel-page weights rose (models/weights.ts: vmalloc 2, vfree 2,
  // prefetchKernel 3): seeds 1-8 shrink to 9, 2, 4, 4, 4, 2, 2, 2 steps (seed 1 keeps a detour
  // the shrinker does not take out).
  test.each([2, 3, 4])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B06', { platform: 'vtd', seed, runs: 300 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
