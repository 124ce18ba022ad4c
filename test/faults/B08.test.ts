import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/** The shortest reproducer: the same (device, mm) bound twice, as uacce does per open(). */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
];

describe('B08: SVA handle sharing dropped, a second bind fails (65d4418c5002)', () => {
  test.each(PLATFORMS)('On %s, the second bind of a bond returns -EBUSY (OBS) and leaves no trace; the correct kernel shares the handle', (platform) => {
    const t = defaultTopology(platform);
    const bad = runSequence(t, HAND, { fault: 'B08' });
    if (!bad.ok) throw new Error(bad.error);
    const s = bad.value.session;
    expect(s.violation).toMatchObject({ invariant: 'OBS', step: 2 });
    expect(s.steps[2]).toMatchObject({ expected: { ok: true, value: 1 }, actual: { ok: false, errno: 'EBUSY' } });
    // The failed attach freed its new domain and handle: one bond, one handle, one domain.
    expect(s.world.core.live.handles.size).toBe(1);
    expect(s.world.fds[0]![0]!.binds).toBe(1);
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
    expect(good.ok && good.value.session.world.fds[0]![0]!.handle.users).toBe(2);
  });

  test('A second device of the same group meets the same -EBUSY: the group\'s PASID slot is taken', () => {
    const d = defaultTopology('vtd');
    const t: Topology = { ...d, devices: [d.devices[0]!, { ...d.devices[0]!, group: 0 }] };
    const r = runSequence(t, [HAND[0]!, HAND[1]!, { kind: 'bind', dev: 1, mm: 0 }], { fault: 'B08' });
    expect(r.ok && r.value.session.steps[2]!.actual).toEqual({ ok: false, errno: 'EBUSY' });
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    for (const platform of PLATFORMS) {
      const f = findFault('B08', { platform, seed, runs: 50 });
      expect(f, `${platform} seed ${seed}`).toMatchObject({ found: true, expected: true });
      expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
    }
  });
});
