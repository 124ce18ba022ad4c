import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a PRI device no domain with a fault handler is attached to sends a
 * page request on its RID, then the fault machinery runs. Before b58b133e680b,
 * iommu_report_device_fault looked up the device's fault parameter first and, finding none
 * (nothing ever enabled IOPF on the device), only WARNed: the request was never answered and
 * the endpoint waits for it for good. Mainline answers it Invalid (iopf_error_response).
 */
const HAND: readonly Command[] = [
  { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true },
  { kind: 'serviceFaults' },
];

/**
 * The other half of the bug: with a fault parameter (dev0 bound for SVA), a request nothing
 * handles (the RID has no IOPF domain) took err_abort and was answered Response Failure, which
 * turns the endpoint's PRI off: the device's next miss in its bound mm faults instead of sending
 * a page request.
 */
const BOUND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'bind', dev: 0, mm: 0 },
  ...HAND,
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
];
const vtd = defaultTopology('vtd');
const t: Topology = { ...vtd, devices: vtd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

describe('B53: a page request nobody handles is answered Failure, or never (fixed by b58b133e680b)', () => {
  test('Without a fault parameter the request is only WARNed about (I-SPLAT) and never answered; mainline answers it Invalid', () => {
    const bad = runSequence(t, HAND, { fault: 'B53' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I-SPLAT', step: 1 });
    expect(bad.value.session.violation!.message).toContain('dev0 has no iopf_param');
    const pri = bad.value.session.world.devices[0]!.hw.priState!;
    expect(pri.outstanding).toHaveLength(1);
    expect(pri.responses).toBe(0);
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    const answered = good.value.session.world.devices[0]!.hw;
    expect(answered.priState!.outstanding).toEqual([]);
    expect(answered.counters.get('pri.response.invalid')).toBe(1);
  });

  test('With a fault parameter the RID request is answered Response Failure and the next miss faults (OBS); mainline answers Invalid and the miss is a page request', () => {
    const bad = runSequence(t, BOUND, { fault: 'B53' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'OBS', step: 5 });
    expect(bad.value.session.world.devices[0]!.hw.counters.get('pri.response.failure')).toBe(1);
    expect(bad.value.session.steps[5]!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    const good = runSequence(t, BOUND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.world.devices[0]!.hw.counters.get('pri.response.invalid')).toBe(1);
    expect(good.value.session.steps[5]!.actual).toEqual({ ok: true });
  });

  test('A request its PASID\'s SVA domain handles is unaffected: only the unhandled paths changed', () => {
    const handled = BOUND.map((c) => (c.kind === 'prg' ? { ...c, rid: false } : c));
    const r = runSequence(t, handled, { fault: 'B53' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  // Within the clean budget of test/faults/clean.ts (200 runs): bench:faults finds it in 1-5 runs.
  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most the hand-written length of the half it found', (seed) => {
    const f = findFault('B53', { platform: 'vtd', seed, runs: 200 });
    expect(f).toMatchObject({ found: true, expected: true });
    // The unanswered request is a splat; the Response Failure shows as the next miss's OBS.
    expect(f.shrunkLength).toBeLessThanOrEqual(f.invariant === 'OBS' ? BOUND.length : HAND.length);
  });
});
