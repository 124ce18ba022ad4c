import { describe, expect, test } from 'vitest';
import { checkedGroup, runChecked } from '../../src/harness/group.js';
import { exploreGroup } from '../../src/harness/groupExplore.js';
import { runSequence } from '../../src/harness/index.js';
import type { Session } from '../../src/harness/index.js';
import { schedOf } from '../../src/impl/core/sched.js';
import { dev_iommu_priv_get } from '../../src/impl/vtd/dmar.js';
import { pasid_mutex } from '../../src/impl/vtd/prq.js';
import type { Policy } from '../../src/sched/types.js';
import type { Command, FaultId, Topology } from '../../src/shared/index.js';

/**
 * R01: B05 (6ef0505158f7, "iommu/vt-d: Fix a deadlock in intel_svm_drain_prq()", v5.15-rc1) on
 * its real two-thread path. Before the fix intel_svm_unbind held pasid_mutex across the teardown
 * and intel_svm_drain_prq, whose iopf_queue_flush_dev waits for the IOPF work; the work answers
 * through intel_svm_page_response, which takes pasid_mutex. The commit's lockdep report (Dave
 * Jiang's dsa_test, lore 20210826215918.4073446-1-fenghua.yu@intel.com) names the chain
 * "&param->lock --> &param->fault_param->lock --> pasid_mutex" and the scenario "CPU0:
 * lock(pasid_mutex); CPU1: lock(&param->fault_param->lock); lock(pasid_mutex); CPU0:
 * lock(&param->lock)". The fix unlocks pasid_mutex around the flush.
 *
 * Here the page request arrives while the unbind holds pasid_mutex: the device's DMA runs while
 * cpu0 stands at the teardown's spin_lock(&iommu->lock). The drain runs the PRQ thread (an 'irq'
 * task of the group), which reports the request and queues the work (a kworker task); the flush
 * waits for it, and the work sleeps on pasid_mutex: no task of the group can go on. Run in the
 * other order (the DMA first: no preemption), it is B05's sequential shape.
 */
const t: Topology = {
  platform: 'vtd',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 16, rangeInv: true }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }],
  mms: 1, pages: 2, kpages: 0, ptLevels: 4,
};
const PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'bind', dev: 0, mm: 0 },
];
/**
 * The last unbind and a DMA to a page never touched (a page request). A `prg` member would be
 * the same request, but a PASID group needs the bond, so {unbind, prg} is not legal in both
 * orders; a DMA after the unbind just faults.
 */
const GROUP: readonly Command[] = [{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }];
/**
 * Where cpu0 is preempted: the teardown's spin_lock(&iommu->lock), pasid_mutex one yield earlier
 * under R01 (counted from the driver's &uacce->mutex, the unbind's first yield).
 */
const STOP: Record<'R01' | 'mainline', number> = { R01: 5, mainline: 4 };

function session(fault?: FaultId): Session {
  const r = runSequence(t, PREFIX, fault === undefined ? {} : { fault });
  if (!r.ok) throw new Error(r.error);
  expect(r.value.session.violation).toBeUndefined();
  return r.value.session;
}

/**
 * The hand schedule: cpu0 runs to the stop, the device takes the CPU there, then the default
 * rule. At the stop the policy checks where cpu0 stands: &group->mutex held (the detach), the
 * PASID entry still present (the teardown has not begun), and pasid_mutex held iff R01.
 */
function handPolicy(s: Session, stop: number, r01: boolean, seen: { at: number }): Policy {
  const dev = s.world.devices[0]!;
  const pasid = s.world.mms[0]!.iommu_mm!.pasid;
  return {
    pick(at, current, runnable) {
      if (at !== stop) return current >= 0 ? current : runnable[0]!;
      seen.at = at;
      const unbind = schedOf(s.world.kernel).tasks.find((x) => x.name === 'cpu0')!;
      expect(unbind.held.map((l) => l.name)).toEqual(r01 ? ['&uacce->mutex', 'iommu_sva_lock', '&group->mutex', 'pasid_mutex'] : ['&uacce->mutex', 'iommu_sva_lock', '&group->mutex']);
      expect(dev_iommu_priv_get(dev).pasid_table!.read(pasid).present).toBe(true);
      expect(pasid_mutex(s.world.kernel).owner === unbind).toBe(r01);
      return 1;
    },
  };
}

const DEADLOCK = [
  'possible deadlock: no task of the group can go on',
  '  cpu0 (cpu) waits in flush_workqueue(dmar0-iopfq), holding &uacce->mutex, iommu_sva_lock, &group->mutex, pasid_mutex',
  '  kworker/dmar0-iopfq:1 (kworker) waits in mutex_lock(pasid_mutex), holding (wq_completion)dmar0-iopfq, &fault_param->lock',
].join('\n');

describe('R01: the PRQ drain deadlock of 6ef0505158f7 on its two-thread path', () => {
  test('Hand schedule: the page request arrives while the unbind holds pasid_mutex; the flush waits for the work, which sleeps on pasid_mutex', () => {
    const s = session('R01');
    const seen = { at: -1 };
    const { found, run } = runChecked(s, GROUP, handPolicy(s, STOP.R01, true, seen), { scheduler: 'replay', seed: 0 });
    expect(seen.at).toBe(STOP.R01);
    expect(run!.preemptions).toBe(1);
    expect(run!.schedule.switches).toEqual([{ at: STOP.R01, to: 1 }]);
    // The PRQ thread and the kworker joined the group: the drain ran the one, the flush waits on the other.
    expect(run!.tasks.map((x) => x.name)).toEqual(['cpu0', 'dev1', 'irq/dmar0-prq', 'kworker/dmar0-iopfq:1']);
    expect(run!.deadlock).toBe(DEADLOCK);
    expect(found.map((v) => v.invariant)).toContain('I-SPLAT');
    // Lockdep saw the cycle first, as in the commit message: the kworker takes pasid_mutex under
    // the workqueue's map, and pasid_mutex -> the map was learned by the flush.
    const warnings = s.world.core.warnings;
    expect(warnings[0]).toBe('possible circular locking dependency detected: kworker/dmar0-iopfq:1 takes pasid_mutex while holding (wq_completion)dmar0-iopfq, but pasid_mutex -> ... -> (wq_completion)dmar0-iopfq is already known');
    expect(warnings).toContain(DEADLOCK);
    // The unbind never returns; the DMA was queued as a page request.
    expect(s.steps.at(-2)!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true });

    // The recorded schedule (one switch) replays exactly on a fresh session.
    const again = session('R01');
    const replayed = checkedGroup(again, GROUP, { scheduler: 'replay', seed: 0, switches: run!.schedule.switches });
    expect(replayed.map((v) => `${v.invariant} ${v.message}`)).toEqual(found.map((v) => `${v.invariant} ${v.message}`));
    expect(again.world.core.warnings).toEqual(warnings);
  });

  test('Mainline on the same stop: the drain runs the PRQ thread and waits for the work, which answers; the group linearizes as DMA then unbind', () => {
    const s = session();
    const seen = { at: -1 };
    const { found, run } = runChecked(s, GROUP, handPolicy(s, STOP.mainline, false, seen), { scheduler: 'replay', seed: 0 });
    expect(seen.at).toBe(STOP.mainline);
    expect(run!.preemptions).toBe(1);
    expect(run!.deadlock).toBeUndefined();
    expect(run!.tasks.map((x) => x.name)).toEqual(['cpu0', 'dev1', 'irq/dmar0-prq', 'kworker/dmar0-iopfq:1']);
    expect(found).toEqual([]);
    expect(s.world.core.warnings).toEqual([]);
    expect(s.steps.slice(-2).map((x) => x.actual)).toEqual([{ ok: true }, { ok: true }]);
    // Nothing is left queued: the request was reported and answered inside the unbind.
    expect(s.world.devices[0]!.hw.priState!.outstanding).toEqual([]);
  });

  test('Preemption-bounded exploration of {unbind, dma}: R01 is found at k = 1; mainline explores its k = 1 and k = 2 trees clean', () => {
    const bad = exploreGroup(t, PREFIX, GROUP, 1, 10_000, { fault: 'R01' });
    expect(bad).toMatchObject({ complete: false, invariant: 'I-SPLAT' });
    expect(bad.found!.switches).toEqual([{ at: STOP.R01, to: 1 }]);
    expect(bad.schedules).toBe(40);
    expect(exploreGroup(t, PREFIX, GROUP, 1, 10_000)).toEqual({ schedules: 59, complete: true, found: undefined, invariant: undefined });
    expect(exploreGroup(t, PREFIX, GROUP, 2, 10_000)).toEqual({ schedules: 203, complete: true, found: undefined, invariant: undefined });
  });

  test('Without a preemption the DMA-first order is B05\'s sequential shape: k = 0 finds it on its second schedule', () => {
    const r = exploreGroup(t, PREFIX, GROUP, 0, 100, { fault: 'R01' });
    expect(r).toMatchObject({ schedules: 2, found: { switches: [{ at: 0, to: 1 }] }, invariant: 'I-SPLAT' });
    expect(exploreGroup(t, PREFIX, GROUP, 0, 100)).toEqual({ schedules: 3, complete: true, found: undefined, invariant: undefined });
  });
});
