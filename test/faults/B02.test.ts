import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/** The shortest reproducer: the last unbind returns the PASID of a live mm. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unbind', dev: 0, mm: 0 },
];

describe('B02: the PASID freed at the last unbind (701fac40384f)', () => {
  test.each(PLATFORMS)('On %s, bind then unbind takes the PASID from a live mm (I1); the correct kernel keeps it until __mmdrop', (platform) => {
    const t = defaultTopology(platform);
    const bad = runSequence(t, HAND, { fault: 'B02' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I1', step: 2 });
    expect(bad.value.session.world.core.pasidIda.size).toBe(0);
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
    expect(good.ok && [...good.value.session.world.core.pasidIda]).toEqual([1]);
  });

  test('Another process then gets the same PASID, and the first one a new PASID on its next bind', () => {
    const s = openSession(defaultTopology('smmuv3'), { fault: 'B02' });
    for (const c of HAND) checkedStep(s, c);
    checkedStep(s, { kind: 'spawn', mm: 1 });
    checkedStep(s, { kind: 'bind', dev: 0, mm: 1 });
    checkedStep(s, { kind: 'bind', dev: 0, mm: 0 });
    // The spec keeps PASID 1 with mm0 until __mmdrop: mm1 should get 2, and mm0 keep 1.
    expect(s.steps[4]).toMatchObject({ expected: { ok: true, value: 2 }, actual: { ok: true, value: 1 } });
    expect(s.steps[5]).toMatchObject({ expected: { ok: true, value: 1 }, actual: { ok: true, value: 2 } });
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    for (const platform of PLATFORMS) {
      const f = findFault('B02', { platform, seed, runs: 50 });
      expect(f, `${platform} seed ${seed}`).toMatchObject({ found: true, expected: true });
      expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
    }
  });
});
