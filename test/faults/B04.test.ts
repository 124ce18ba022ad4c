import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, FaultId } from '../../src/shared/index.js';

/** The shortest reproducer: the last unbind clears the mm's PASID before anything frees it. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const t = defaultTopology('vtd');

/** The invariants each step of `cmds` breaks, run past the first violation. */
const perStep = (cmds: readonly Command[], fault: FaultId): string[][] => {
  const s = openSession(t, { fault });
  return cmds.map((c) => checkedStep(s, c).map((v) => v.invariant));
};

describe('B04: the PASID leaked by the unbind that cleared it first (a21518cb23a3)', () => {
  test('bind then unbind clears the live mm\'s PASID (I1); the correct kernel keeps it', () => {
    const bad = runSequence(t, HAND, { fault: 'B04' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I1', step: 2 });
    expect(bad.value.session.world.mms[0]!.iommu_mm).toBeUndefined();
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test('Unlike B02, nothing frees the PASID: once quiescent the IDA holds a PASID no mm owns (I11), and __mmdrop does not return it', () => {
    const rest: Command[] = [...HAND, { kind: 'gracePeriod' }, { kind: 'exit', mm: 0 }, { kind: 'mmdrop', mm: 0 }];
    const leak = perStep(rest, 'B04');
    expect(leak[3]).toContain('I11');
    expect(leak[5]).toContain('I11');
    const s = openSession(t, { fault: 'B04' });
    for (const c of rest) checkedStep(s, c);
    expect([...s.world.core.pasidIda]).toEqual([1]);
    // B02 frees it at the same unbind: the quiescence check then has nothing to say.
    expect(perStep(rest, 'B02')[3]).not.toContain('I11');
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B04', { platform: 'vtd', seed, runs: 50 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
