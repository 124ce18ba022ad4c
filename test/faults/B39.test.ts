import { describe, expect, test } from 'vitest';
import { faultInfo, findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * The shortest reproducer of the upstream AMD behaviour: a PRI device's page request is in the
 * PPR log when its PASID is unbound; amd_iommu_remove_dev_pasid drains nothing.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const base = defaultTopology('amd');
const t: Topology = { ...base, devices: base.devices.map((d, i) => ({ ...d, pri: i === 0 })) };

describe('B39: AMD PASID removal leaves its page requests queued (v6.19-rc as written)', () => {
  test('The unbind returns with the request still in the PPR log (I8); with the drain the request is answered first', () => {
    const bad = runSequence(t, HAND, { fault: 'B39' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I8', step: 3 });
    expect(bad.value.session.violation?.message).toContain('still in the PPR log');
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.world.devices[0]!.hw.priState!.outstanding).toEqual([]);
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B39', { platform: 'amd', seed, runs: 400 });
    expect(f.found).toBe(true);
    expect(faultInfo('B39').expected).toContain(f.invariant);
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
