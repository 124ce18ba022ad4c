import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { dev_iommu_priv_get } from '../../src/impl/vtd/dmar.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: bind, then unbind. Before 75ed00055c05 the teardown zeroed the
 * whole 512-bit entry while it was present, so the IOMMU could fetch half old, half zero.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const t = defaultTopology('vtd');

describe('B18: PASID teardown zeroes the entry while it is present (fixed by 75ed00055c05)', () => {
  test('The unbind rewrites the present entry in place (I7); mainline clears P, flushes, then zeroes', () => {
    const bad = runSequence(t, HAND, { fault: 'B18' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I7', step: 2, objects: { dev: 0, pasid: 1 } });
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    // Both end with the entry gone: only the order of the writes differs.
    for (const r of [bad, good]) expect(dev_iommu_priv_get(r.value.session.world.devices[0]!).pasid_table!.entries()).toEqual([]);
  });

  test('The release at exit (fault_ignore) takes the same path: one rewrite per bound device', () => {
    const r = runSequence(t, [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 2, mm: 0 }, { kind: 'exit', mm: 0 }], { fault: 'B18' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toMatchObject({ invariant: 'I7', step: 3 });
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B18', { platform: 'vtd', seed, runs: 100 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
