import { describe, expect, test } from 'vitest';
import { faultInfo, findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/** The shortest reproducer: the PASID goes at the last mmput while a domain still holds it. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'exit', mm: 0 },
];

describe('B01: the PASID freed in __mmput, before the unbind (2667ed10d9f0)', () => {
  test.each(PLATFORMS)('On %s, bind then exit frees the PASID of a pinned mm (I1); the correct kernel keeps it', (platform) => {
    const t = defaultTopology(platform);
    const bad = runSequence(t, HAND, { fault: 'B01' });
    if (!bad.ok) throw new Error(bad.error);
    const v = bad.value.session.violation;
    expect(v).toMatchObject({ invariant: 'I1', step: 2 });
    expect(v?.message).toContain('PASID 1 of mm0 was freed');
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test('The freed PASID goes to the next process, whose bind finds the dead bond at it: -EBUSY, and the unbind later uses it', () => {
    const s = openSession(defaultTopology('vtd'), { fault: 'B01' });
    for (const c of HAND) checkedStep(s, c);
    checkedStep(s, { kind: 'spawn', mm: 1 });
    checkedStep(s, { kind: 'bind', dev: 0, mm: 1 });
    // ida_alloc_range hands out PASID 1 again; iommu_attach_handle_get finds mm0's handle there.
    expect(s.steps[4]!.actual).toEqual({ ok: false, errno: 'EBUSY' });
    expect(s.steps[4]!.expected).toEqual({ ok: true, value: 2 });
    expect(s.world.mms[0]!.iommu_mm?.freed).toBe(true);
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    for (const platform of PLATFORMS) {
      const f = findFault('B01', { platform, seed, runs: 50 });
      expect(f.found, `${platform} seed ${seed}`).toBe(true);
      expect(faultInfo('B01').expected).toContain(f.invariant);
      expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
    }
  });
});
