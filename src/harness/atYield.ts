/**
 * The invariants that must hold at every yield point of a concurrent group, not only at its
 * quiescent end. Most invariants compare kernel objects with the hardware or the spec and are
 * legitimately false mid-command (a PASID entry written before its cache flush, a descriptor
 * queued before its wait); these three are not: each names an event that is a bug the moment it
 * happens, so checking it at the point shows the task and the yield where it happened.
 *
 * Each check reads only counters or a log tail, so a point costs a few loads (the full
 * invariant runs again at the quiescent point with its own message).
 */
import type { StepProbe } from '../../properties/probe.js';
import type { Violation } from '../../properties/invariant.js';
import { amdUnits } from '../../properties/hardware/amdRead.js';
import { vtdUnits } from '../../properties/hardware/vtdRead.js';
import { coreOf, type World } from '../impl/index.js';

export interface AtYieldCheck {
  readonly id: string;
  /** Why it must hold at every yield, in one line. */
  readonly why: string;
  /** A message when it is broken now; `mark` is where the previous point left off. */
  check(world: World, probe: StepProbe, mark: AtYieldMark): string | undefined;
}

/** What the previous points have seen already, so each point reads only what is new. */
export interface AtYieldMark {
  warnings: number;
  anomalies: number;
}

export const AT_YIELD: readonly AtYieldCheck[] = [
  {
    id: 'I-SPLAT',
    why: 'a WARN, a lockdep report or a sleep in atomic context is a bug wherever it happens, and a deadlock report names the tasks blocked at this point',
    check(world, _probe, mark) {
      const log = coreOf(world.kernel).warnings;
      if (log.length <= mark.warnings) return undefined;
      const what = log[mark.warnings]!;
      mark.warnings = log.length;
      return `kernel splat: ${what}`;
    },
  },
  {
    id: 'I-UAF-DMA',
    why: 'no DMA or walk may reach a freed frame ever: a later point cannot make it right',
    check(world, _probe, mark) {
      const log = world.kernel.mem.anomalies;
      for (let i = mark.anomalies; i < log.length; i++) {
        const a = log[i]!;
        if (a.kind !== 'dma-freed-frame') continue;
        mark.anomalies = log.length;
        return `${a.by} DMA reached frame ${a.frame}, which is free or a page table`;
      }
      mark.anomalies = log.length;
      return undefined;
    },
  },
  {
    id: 'I-QUEUE',
    // Only the hung half of I-QUEUE: a queued descriptor without its wait is normal between two
    // points of one submission.
    why: 'an invalidation wait that timed out or a stopped queue (ITE) is a hang whenever it happens; only "queued without a wait" waits for quiescence',
    check(world, probe) {
      for (let i = 0; i < probe.units.length; i++) {
        const u = probe.units[i]!;
        if (u.timeouts > 0) return `${u.name}: ${u.timeouts} invalidation waits timed out`;
      }
      const platform = world.topology.platform;
      if (platform === 'vtd') {
        for (const iommu of vtdUnits(world)) if (iommu.unit.ite) return `${iommu.unit.name}: ITE set: the invalidation queue is stopped`;
      } else if (platform === 'amd') {
        for (const iommu of amdUnits(world)) {
          for (const e of iommu.unit.eventLog.pending) if (e.type === 'IOTLB_INV_TIMEOUT') return `${iommu.unit.name}: an IOTLB invalidation timed out (IOTLB_INV_TIMEOUT)`;
        }
      }
      return undefined;
    },
  },
];

/**
 * The first at-yield invariant broken now, as a violation naming the point and the task.
 * `objects` holds the point and the task index so a trace can place it on the task's lane.
 */
export const checkAtYield = (world: World, probe: StepProbe, mark: AtYieldMark, at: number, task: number, taskName: string): Violation | undefined => {
  for (let i = 0; i < AT_YIELD.length; i++) {
    const c = AT_YIELD[i]!;
    const msg = c.check(world, probe, mark);
    if (msg !== undefined) return { invariant: c.id, objects: { point: at, task }, message: `at point ${at} (${taskName}): ${msg}` };
  }
  return undefined;
};
