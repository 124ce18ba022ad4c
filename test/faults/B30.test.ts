import { describe, expect, test } from 'vitest';
import { faultInfo, findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/** The shortest reproducer: the unbind's GCR3 clear is flushed for PASID 0, not for the bound PASID. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const t = defaultTopology('amd');

describe('B30: AMD GCR3 updates flushed PASID 0 (argument order, fixed by 8386207f37e9)', () => {
  test('The last unbind sends no all-pages flush of its PASID (I7); the fixed kernel does', () => {
    const bad = runSequence(t, HAND, { fault: 'B30' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I7', step: 2 });
    expect(bad.value.session.violation?.message).toContain('teardown without an all-pages INVALIDATE_IOMMU_PAGES');
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test('"leaving the old value of GCR3 from a previous process attached to the same PASID": the cached entry outlives the unbind (I8)', () => {
    const s = openSession(t, { fault: 'B30' });
    const step = (c: Command) => checkedStep(s, c).map((v) => v.invariant);
    step({ kind: 'spawn', mm: 0 });
    step({ kind: 'bind', dev: 0, mm: 0 });
    step({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false }); // caches mm0's GCR3 entry
    expect(step({ kind: 'unbind', dev: 0, mm: 0 })).toContain('I8'); // the cached entry outlives the unbind
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B30', { platform: 'amd', seed, runs: 200 });
    expect(f.found).toBe(true);
    expect(faultInfo('B30').expected).toContain(f.invariant);
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
