import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a bound ATS device is surprise-removed; its driver's remove unbinds,
 * and the teardown sends a device-TLB invalidation the gone device never answers.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unplug', dev: 0 },
];
const t = defaultTopology('vtd');

describe('B15: device-TLB invalidation sent to a surprise-removed device (fixed by 4fc82cd907ac)', () => {
  test('The unbind of the removed device times the invalidation queue out (I-QUEUE); the guarded teardown does not', () => {
    const bad = runSequence(t, HAND, { fault: 'B15' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I-QUEUE', step: 2 });
    expect((bad.value.session.world.iommus[0]!.unit.counters.get('qi.ite'))).toBe(1);
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    // The correct kernel unbound everything the device held and left nothing of it behind.
    expect(good.value.session.world.fds[0]![0]).toBeUndefined();
    expect(good.value.session.world.devices[0]!.group.pasid_array.size).toBe(0);
  });

  test('After unplug no command may name the device, and an unbound device unplugs quietly even with the fault', () => {
    const s = openSession(t, { fault: 'B15' });
    expect(checkedStep(s, { kind: 'spawn', mm: 0 })).toEqual([]);
    expect(checkedStep(s, { kind: 'unplug', dev: 0 })).toEqual([]);
    const again = runSequence(t, [{ kind: 'spawn', mm: 0 }, { kind: 'unplug', dev: 0 }, { kind: 'bind', dev: 0, mm: 0 }]);
    expect(again.ok).toBe(false);
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B15', { platform: 'vtd', seed, runs: 100 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
