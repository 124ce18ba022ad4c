import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * B60 (c3b1edea3791, "Fix race condition during PASID entry replacement"): the VT-d replace
 * branch wrote the new PASID entry over the present one and flushed afterwards, so the IOMMU
 * could fetch a half-old, half-new entry; its flush was always the PASID-based IOTLB one, so an
 * old second-level entry's translations stayed under its DID. The shortest reproducer: attach
 * a paging domain at a PASID, replace it with the other one.
 */
const HAND: readonly Command[] = [
  { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 },
  { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 },
];
const t = defaultTopology('vtd');

describe('B60: PASID replacement rewrites the present entry in place (fixed by c3b1edea3791)', () => {
  test('The replace rewrites the live entry (I7); mainline clears P, flushes, zeroes, then writes the new one', () => {
    const bad = runSequence(t, HAND, { fault: 'B60' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I7', step: 1, objects: { dev: 0, pasid: 5 } });
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
  });

  test('Its flush also misses an old second-level entry\'s IOTLB entries: they outlive the old DID (I6)', () => {
    const cached: readonly Command[] = [
      HAND[0]!,
      { kind: 'iommuMap', hwpt: 0, page: 0, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false },
      HAND[1]!,
    ];
    const bad = runSequence(t, cached, { fault: 'B60' });
    if (!bad.ok) throw new Error(bad.error);
    const s = bad.value.session;
    expect(s.violation).toMatchObject({ step: 3 });
    const slDids = [...(s.world.iommus[0]!.unit as unknown as { iotlb: { sl: Map<number, Map<number, unknown>> } }).iotlb.sl.keys()];
    expect(slDids.length).toBe(1);
    expect((s.world.iommus[0] as unknown as { domain_ida: Set<number> }).domain_ida.has(slDids[0]!)).toBe(false);
  });

  // Measured since the nested HWPT's RID attach joined VT-d's draws: every seed of 1-8 finds it,
  // shrunk to 2, 2, 2, 2, 11, 2, 2, 2 steps (on 5 the find reuses an mm's PASID number for the
  // paging domain's, so the 1-minimal trace keeps the bind and unbind that allocated it).
  test.each([1, 2, 6])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B60', { platform: 'vtd', seed, runs: 300 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
