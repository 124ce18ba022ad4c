import { describe, test } from 'vitest';
import { expectEveryScheduleClean } from './exploreGroup.js';
import type { Command, FindingName, Topology } from '../../src/shared/index.js';

/**
 * smmuv3-detach-no-iopf-flush, its proposed fix against the EVTQ IRQ thread (docs/
 * upstream-findings.md): the thread takes a stall record off the queue before it reports it, so
 * the fix's own pass over the queue can find it empty while the thread still holds the PASID's
 * fault. Without waiting for the thread (synchronize_irq) the fault was reported after the
 * detach had flushed the IOPF queue, and its work ran on the freed attach handle (I-SPLAT,
 * KASAN, found by `run --fix all --seed 7` on SMMUv3). Every schedule of {unbind,
 * serviceFaults} with at most one preemption must end clean.
 */
const t: Topology = {
  platform: 'smmuv3', iommus: [{ pasidBits: 3, didBits: 16, asidBits: 3, rangeInv: true, prqSize: 3 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }], mms: 1, pages: 1, kpages: 0, ptLevels: 4,
};
const PREFIX: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }];
const GROUP: Command[] = [{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'serviceFaults' }];

describe('smmuv3-detach-no-iopf-flush, its fix: the PASID detach beside the EVTQ IRQ thread', () => {
  test('every schedule with at most one preemption ends with no splat and no violation', () => {
    const fixes: FindingName[] = ['smmuv3-detach-no-iopf-flush', 'smmuv3-release-vs-detach-cd', 'iopf-stale-partial', 'iopf-partial-error-response'];
    expectEveryScheduleClean(t, PREFIX, GROUP, fixes, 1234);
  });
});
