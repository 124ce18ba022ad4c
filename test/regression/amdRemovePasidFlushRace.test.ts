import { describe, test } from 'vitest';
import { expectEveryScheduleClean } from './exploreGroup.js';
import type { Command, FindingName, Topology } from '../../src/shared/index.js';

/**
 * amd-remove-pasid-no-iopf-flush, its proposed fix against the PPR IRQ thread (docs/
 * upstream-findings.md): the thread writes the log's head past an entry before it reports it, so
 * the fix's own poll can find the log empty while the thread still holds the PASID's request.
 * Without waiting for the thread (synchronize_irq), that partial request was reported after the
 * detach had discarded the PASID's partials, and stayed (I-PRI-ONCE, one preemption, found by
 * `run --fix all` on AMD, seed 1758). Here the LAST of a two-request group is lost to a full
 * PPR log, so the first stays partial; every schedule of {unbind, serviceFaults} with at most
 * one preemption must end clean.
 */
const t: Topology = {
  platform: 'amd', iommus: [{ pasidBits: 2, didBits: 16, asidBits: 4, rangeInv: true, prqSize: 1 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }], mms: 1, pages: 2, kpages: 0, ptLevels: 4,
};
const PREFIX: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: true },
];
const GROUP: Command[] = [{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'serviceFaults' }];

describe('amd-remove-pasid-no-iopf-flush, its fix: the PASID removal beside the PPR IRQ thread', () => {
  test('every schedule with at most one preemption leaves no partial request and no violation', () => {
    const fixes: FindingName[] = ['amd-remove-pasid-no-iopf-flush', 'iopf-stale-partial', 'iopf-partial-error-response'];
    expectEveryScheduleClean(t, PREFIX, GROUP, fixes, 150);
  });
});
