import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: the first PASID bind of a master with more than CTXDESC_L2_ENTRIES
 * SSIDs (a two-level CD table) while the L1 table's dma_alloc_coherent fails. Before
 * 5941f0e0c1e0 the check tested l2ptrs instead: arm_smmu_alloc_cd_tables returned 0 and the
 * leaf's L1 descriptor was written through l2.l1tab = NULL.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'failNext', site: 'dma_alloc_coherent@arm_smmu_alloc_cd_tables' },
  { kind: 'bind', dev: 0, mm: 0 },
];
const base = defaultTopology('smmuv3');
const twoLevel = { ...base, iommus: base.iommus.map((i) => ({ ...i, pasidBits: 11 })) };

describe('B41: CD L1 table allocation failure unnoticed (fixed by 5941f0e0c1e0)', () => {
  test('The bind oopses on the NULL L1 table (EXC); mainline returns -ENOMEM and leaves no CD table', () => {
    const bad = runSequence(twoLevel, HAND, { fault: 'B41' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'EXC', step: 2 });
    expect(bad.value.session.violation?.message).toContain('l1tab NULL');
    const good = runSequence(twoLevel, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.steps[2]!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
  });

  test('A linear CD table (at most 1024 SSIDs) had the right check: the fault changes nothing there', () => {
    const r = runSequence(base, HAND, { fault: 'B41' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B41', { platform: 'smmuv3', seed, runs: 400 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
