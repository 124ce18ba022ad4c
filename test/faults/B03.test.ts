import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/** The shortest reproducer: fork a process that has a PASID. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'fork', mm: 0, child: 1 },
];

describe('B03: the fork child inherits the PASID (dc7507ddce59)', () => {
  test.each(PLATFORMS)('On %s, the child of a bound process starts with its iommu_mm (I1, I13); the correct fork clears it', (platform) => {
    const t = defaultTopology(platform);
    const s = openSession(t, { fault: 'B03' });
    const found = HAND.map((c) => checkedStep(s, c));
    expect(found.slice(0, 2).every((v) => v.length === 0)).toBe(true);
    const ids = found[2]!.map((v) => v.invariant);
    // I1 sees two mm_structs on one iommu_mm first; I13 is the fork rule itself.
    expect(ids[0]).toBe('I1');
    expect(ids).toContain('I13');
    expect(s.world.mms[1]!.iommu_mm).toBe(s.world.mms[0]!.iommu_mm);
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
    expect(good.ok && good.value.session.world.mms[1]!.iommu_mm).toBeUndefined();
  });

  test('A fork before any bind inherits nothing, even with the fault on', () => {
    const r = runSequence(defaultTopology('vtd'), [HAND[0]!, HAND[2]!, HAND[1]!], { fault: 'B03' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test.each([1, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    for (const platform of PLATFORMS) {
      const f = findFault('B03', { platform, seed, runs: 200 });
      expect(f, `${platform} seed ${seed}`).toMatchObject({ found: true, expected: true });
      expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
    }
  });
});
