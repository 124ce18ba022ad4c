import { describe, expect, test } from 'vitest';
import { iopf_run_all } from '../../../src/impl/core/iopf.js';
import { runGroup } from '../../../src/sched/group.js';
import { defaultPolicy } from '../../../src/sched/policies.js';
import type { GroupPoint } from '../../../src/sched/types.js';
import { userVpn } from '../../../src/shared/index.js';
import { priSetup } from '../../properties/hardware/priHelpers.js';

/**
 * The SMMUv3 event-queue thread and the AMD PPR-log handler are the bodies of the io-pgfault
 * queue's 'irq' task (iopf_queue_alloc's hook), no longer run atomically under sync: inside a
 * concurrent group the IRQ thread stops at its own yield points (the EVTQ_CONS store after each
 * event, iopf_param->lock around queueing the group, the locks of the FAILURE/INVALID response),
 * where another task may run.
 */
const irqPoints = (trace: readonly GroupPoint[], irqTask: number): string[] => [...new Set(trace.filter((p) => p.task === irqTask).map((p) => p.what))];

describe.each(['smmuv3', 'amd'] as const)('%s: the fault IRQ thread is an irq task', (platform) => {
  test('serviceFaults inside a group: the IRQ thread yields while it reports, and its report queues a kworker that answers', () => {
    const b = priSetup(platform);
    // A DMA to an untouched page: a stall event (SMMUv3) or a PPR log entry (AMD) to report.
    expect(b.run({ kind: 'dma', dev: 0, mm: 0, page: 1, write: false }).actual).toEqual({ ok: true });
    const kernel = b.world.kernel;
    const run = runGroup(kernel, [{ name: 'cpu0:serviceFaults', kind: 'cpu', body: iopf_run_all(kernel) }], defaultPolicy(), { record: true });
    expect(run.results[0]).toBe(1);
    // One IRQ thread per IOMMU (dev0's is the first queue), and the one work item.
    expect(run.tasks.map((t) => t.kind)).toEqual(['cpu', 'irq', 'kworker', ...b.world.iommus.slice(1).map(() => 'irq')]);
    const points = irqPoints(run.trace!, 1);
    // SMMUv3's thread stops after taking each event; both take iopf_param->lock to queue the
    // group (iopf_group_alloc).
    const queued = ['mutex_lock(&fault_param->lock)', 'mutex_unlock(&fault_param->lock)', 'done'];
    expect(points).toEqual(platform === 'smmuv3' ? ['arm_smmu_evtq_thread: queue_sync_cons_out(EVTQ_CONS)', ...queued] : queued);
    expect(b.world.devices[0]!.hw.priState!.completions.map((c) => c.code)).toEqual(['success']);
  });

});

test('amd: a page request without a PASID is answered FAILURE from the IRQ task, under &iommu->lock (yield points of the thread)', () => {
  const b = priSetup('amd');
  // Straight from the device (the spec's prg keeps RID requests to the devices that may send them).
  expect(b.world.devices[0]!.hw.pageRequestGroup(-1, [userVpn(1)], false)).toMatchObject({ pending: true });
  const kernel = b.world.kernel;
  const run = runGroup(kernel, [{ name: 'cpu0:serviceFaults', kind: 'cpu', body: iopf_run_all(kernel) }], defaultPolicy(), { record: true });
  expect(run.results[0]).toBe(0);
  expect(run.tasks.map((t) => t.kind)).toEqual(['cpu', ...b.world.iommus.map(() => 'irq')]);
  const points = irqPoints(run.trace!, 1);
  expect(points[0]).toMatch(/^spin_lock\(&iommu->lock\)/);
  expect(points).toContain('done');
  expect(points.length).toBeGreaterThan(2);
});
