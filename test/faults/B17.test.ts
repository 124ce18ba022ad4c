import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a bind to an ATS device without PRI. Before 39c20c4e83b9 the SVA
 * attach enabled IOPF on every device, and intel_iommu_enable_iopf refuses one without PRI.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
];
const t = defaultTopology('vtd');

describe('B17: SVA attach enables IOPF on a device without PRI (fixed by 39c20c4e83b9)', () => {
  test('The bind fails with -ENODEV where the spec binds (OBS) and leaves nothing attached; mainline binds', () => {
    expect(t.devices[0]).toMatchObject({ ats: true, pri: false });
    const bad = runSequence(t, HAND, { fault: 'B17' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'OBS', step: 1 });
    expect(bad.value.session.steps[1]!.actual).toEqual({ ok: false, errno: 'ENODEV' });
    expect(bad.value.session.world.devices[0]!.group.pasid_array.size).toBe(0);
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.steps[1]!.actual).toEqual({ ok: true, value: 1 });
  });

  test('A PRI device binds with the fault on too: the old code only broke devices without PRI', () => {
    const pri = { ...t, devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
    const r = runSequence(pri, HAND, { fault: 'B17' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B17', { platform: 'vtd', seed, runs: 100 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
