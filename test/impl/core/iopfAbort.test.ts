import { describe, expect, test } from 'vitest';
import { INVARIANTS } from '../../../properties/registry.js';
import { dev_fault_param, iopf_queue_discard_partial, iopf_queues } from '../../../src/impl/core/iopf.js';
import { runGroup } from '../../../src/sched/group.js';
import { defaultPolicy } from '../../../src/sched/policies.js';
import { sameObservation } from '../../../src/shared/index.js';
import { priSetup } from '../../properties/hardware/priHelpers.js';

const dma = (page: number, write = false) => ({ kind: 'dma', dev: 0, mm: 0, page, write }) as const;
const serviceFaults = { kind: 'serviceFaults' } as const;
const failGroupAlloc = { kind: 'failNext', site: 'kzalloc@iopf_group_alloc' } as const;

const violations = (b: ReturnType<typeof priSetup>): string[] => INVARIANTS.flatMap((inv) => inv.check(b.ctx).map((v) => `${v.invariant}: ${v.message}`));

/**
 * io-pgfault.c iopf_group_alloc (v7.0-rc5): when the group's kzalloc fails the reporter's static
 * abort group takes the request (and its group's partial ones) and iommu_report_device_fault
 * answers it Response Failure at once, with no work queued. VT-d and AMD pass the code to the
 * endpoint, which then stops sending page requests; SMMUv3 aborts the stall (CMD_RESUME without
 * retry) and the master keeps stalling.
 */
describe.each(['vtd', 'smmuv3', 'amd'] as const)('%s: the IOPF group allocation fails', (platform) => {
  test('the abort group is answered once, nothing stays pending or queued, and the spec agrees, the next miss included', () => {
    const b = priSetup(platform);
    b.run(dma(1), failGroupAlloc);
    const served = b.run(serviceFaults);
    expect(served.actual).toEqual({ ok: true, value: 0 });
    expect(served.expected).toEqual(served.actual);
    const hw = b.world.devices[0]!.hw;
    expect(hw.priState!.completions.map((c) => [c.code, c.ok])).toEqual([[platform === 'smmuv3' ? 'invalid' : 'failure', false]]);
    expect(hw.priState!.outstanding).toEqual([]);
    expect(dev_fault_param(b.world.devices[0]!)!.faults).toEqual([]);
    expect(iopf_queues(b.world.kernel).every((q) => q.works.length === 0)).toBe(true);
    expect(violations(b)).toEqual([]);
    const next = b.run(dma(2));
    expect(sameObservation(next.expected, next.actual)).toBe(true);
    if (platform === 'smmuv3') expect(next.actual).toEqual({ ok: true });
    else expect(next.actual).toMatchObject({ ok: false, errno: 'EFAULT', fault: expect.stringContaining('not-present') });
    expect(violations(b)).toEqual([]);
  });
});

test('vtd: failNth fails the second of two groups: the first is handled, the second aborted, as the spec places it', () => {
  const b = priSetup('vtd');
  b.run(dma(0), dma(1), { kind: 'failNth', n: 2 });
  const served = b.run(serviceFaults);
  expect(served.actual).toEqual({ ok: true, value: 1 });
  expect(served.expected).toEqual(served.actual);
  const hw = b.world.devices[0]!.hw;
  // The abort is answered from the IRQ thread at once, the handled group by its work after it.
  expect(hw.priState!.completions.map((c) => c.code)).toEqual(['failure', 'success']);
  expect(violations(b)).toEqual([]);
  // Page 0 was faulted in (the retry read it), page 1 was not: PRI is off, the miss faults.
  expect(b.run(dma(1)).actual).toMatchObject({ ok: false, errno: 'EFAULT' });
  expect(sameObservation(b.ctx.expected, b.ctx.actual)).toBe(true);
  expect(b.run(dma(0)).actual).toMatchObject({ ok: true });
  expect(violations(b)).toEqual([]);
});

test('vtd: a two-request group whose allocation fails: the abort group takes the partial request too, one answer', () => {
  const b = priSetup('vtd');
  b.run({ kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: true }, failGroupAlloc, serviceFaults);
  expect(b.ctx.expected).toEqual(b.ctx.actual);
  const hw = b.world.devices[0]!.hw;
  expect(hw.priState!.protocolErrors).toEqual([]);
  expect(hw.counters.get('pri.response.failure')).toBe(1);
  expect(dev_fault_param(b.world.devices[0]!)!.partial).toEqual([]);
  expect(violations(b)).toEqual([]);
});

test('iopf_queue_discard_partial takes queue->lock, then each device\'s iopf_param->lock around its partial list', () => {
  const b = priSetup('vtd');
  // The LAST held back: both requests stay on dev0's partial list.
  b.run({ kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: false }, serviceFaults);
  const param = dev_fault_param(b.world.devices[0]!)!;
  expect(param.partial).toHaveLength(2);
  const kernel = b.world.kernel;
  const run = runGroup(kernel, [{ name: 'irq:discard', kind: 'irq', body: iopf_queue_discard_partial(param.queue) }], defaultPolicy(), { record: true });
  expect(run.results[0]).toBe(0);
  expect(param.partial).toEqual([]);
  const points = run.trace!.filter((p) => p.task === 0).map((p) => p.what);
  expect(points).toEqual([
    'mutex_lock(&queue->lock)', 'mutex_lock(&fault_param->lock)', 'mutex_unlock(&fault_param->lock)', 'mutex_unlock(&queue->lock)', 'done',
  ]);
});
