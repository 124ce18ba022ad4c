import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { coreOf, failNext, failNth, inject_group_begin, inject_task } from '../../src/impl/core/kernel.js';
import { iommu_sva_bind_device } from '../../src/impl/core/iommuSva.js';
import { iopf_run_all } from '../../src/impl/core/iopf.js';
import type { World } from '../../src/impl/index.js';
import { type Co, preemptPoint } from '../../src/impl/core/sched.js';
import { explorePreemptionBounded, replayPolicy, runGroup } from '../../src/sched/index.js';
import type { GroupPoint, GroupRun, Policy } from '../../src/sched/index.js';
import { defaultPick } from '../../src/sched/policies.js';
import { userVpn, type Command, type FaultId, type Topology } from '../../src/shared/index.js';

/**
 * R04 (5e9f822c9c68, "iommu: Swap the order of setting group->pasid_array and calling attach op
 * of iommu drivers", Yi Liu, v6.15-rc1): from v6.11's attach handle until that commit,
 * iommu_attach_device_pasid xa_insert'ed the handle itself and then called the driver; a failed
 * attach xa_erase'd it. A page request that arrives in between finds the handle
 * (find_fault_handler → iommu_attach_handle_get), is queued to the SVA domain's workqueue, and
 * the failed bind then frees the handle and the new domain under the queued work.
 *
 * AMD: the device's PPR log reports whatever PASID the device sends, and the device is on the
 * IOMMU's fault queue from its identity attach, so no attach step gates the report. The mm keeps
 * its PASID after bind + unbind (it is freed only at __mmdrop), so the device's request carries
 * the PASID the second bind attaches. The attach fails at pdom_dev_data's kzalloc in
 * iommu_sva_set_dev_pasid, before the driver yields: the window is the failure path's
 * xa_erase (mainline: xa_release of the reservation), under the xarray's spinlock.
 */
const TOPOLOGY: Topology = {
  platform: 'amd',
  iommus: [{ pasidBits: 4, didBits: 8, asidBits: 4, rangeInv: true }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }],
  mms: 1, pages: 4, kpages: 1, ptLevels: 4,
};
const PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const DEVICE_POINT = preemptPoint('device dev0 sends a page request (R04 test)');
/** Where the failed attach gives the slot back: R04's xa_erase of the handle, mainline's xa_release of the reservation. */
const UNDO = /^xa_(erase|release)\(&group->pasid_array\)$/;
const KASAN = /^BUG: KASAN: slab-use-after-free in iommu_sva_handle_iopf on attach handle \d+, freed by the failed iommu_sva_bind_device \(PASID \d+\)$/;
/**
 * The k = 1 explorer's counts. It backtracks from the deepest decision, so it tries every
 * single preemption late in the default run first; the 77th schedule preempts the bind at its
 * xa_erase (point 4) for the device, the rest following for free. Mainline's whole k = 1 tree
 * is 386 schedules, all clean: the reservation is never a handle.
 */
const R04_SCHEDULES_TO_FIND = 77;
const MAINLINE_SCHEDULES = 466;

interface R04Run { run: GroupRun; bad: boolean; splats: string[]; bind: unknown; handles: number }

/** How a platform's R04 group is set up: its topology, its injection, and the device's side. */
interface R04Setup {
  readonly topology: Topology;
  /** Arms the injection the bind meets; `inBind` runs as the bind task's first step. */
  readonly arm: (kernel: World['kernel']) => void;
  readonly inBind?: (kernel: World['kernel']) => void;
  /** The device's side, at its one point: returns what it observed. */
  readonly device: (dev: World['devices'][number], pasid: number) => unknown;
}

/** The group on a fresh world after the prefix: the failing bind, the device's side, serviceFaults. */
function runFailedBind(setup: R04Setup, fault: FaultId | undefined, policy: Policy, onPoint?: (p: GroupPoint) => void): R04Run & { dma: unknown } {
  const r = runSequence(setup.topology, PREFIX, fault === undefined ? {} : { fault });
  if (!r.ok) throw new Error(r.error);
  const s = r.value.session;
  expect(s.violation).toBeUndefined();
  const w = s.world;
  const mm = w.mms[0]!;
  const dev = w.devices[0]!;
  const pasid = mm.iommu_mm!.pasid;
  const kernel = w.kernel;
  const before = coreOf(kernel).warnings.length;
  setup.arm(kernel);
  let dma: unknown;
  const device = function* (): Co {
    yield DEVICE_POINT;
    dma = setup.device(dev, pasid);
  };
  const bind = function* (): Co<unknown> {
    setup.inBind?.(kernel);
    return yield* iommu_sva_bind_device(dev, mm);
  };
  const run = runGroup(kernel, [
    { name: 'cpu0:bind', kind: 'cpu', body: bind() },
    { name: 'hw:dev0', kind: 'hw', body: device() },
    { name: 'cpu1:serviceFaults', kind: 'cpu', body: iopf_run_all(kernel) },
  ], policy, { record: true, ...(onPoint === undefined ? {} : { onPoint }) });
  const splats = coreOf(kernel).warnings.slice(before);
  return { run, bad: splats.length > 0, splats, bind: run.results[0], handles: coreOf(kernel).live.handles.size, dma };
}

/** AMD: the attach fails at pdom_dev_data's kzalloc; the device sends a page request at the PASID. */
const AMD_SETUP: R04Setup = {
  topology: TOPOLOGY,
  arm: (kernel) => failNext(kernel, 'kzalloc@iommu_sva_set_dev_pasid'),
  device: (dev, pasid) => dev.hw.pageRequestGroup(pasid, [userVpn(0)], false),
};
const runR04 = (fault: FaultId | undefined, policy: Policy, onPoint?: (p: GroupPoint) => void): R04Run => runFailedBind(AMD_SETUP, fault, policy, onPoint);

/**
 * The hand schedule, by named points: the bind runs until its attach has failed and is about
 * to give the pasid_array slot back; the device sends its request and serviceFaults' IRQ thread
 * reports it; then the bind finishes (freeing what it allocated), then the rest in default order.
 */
function insideTheWindow(): { policy: Policy; onPoint: (p: GroupPoint) => void; stoppedAt: () => string | undefined } {
  let stopped: string | undefined;
  let irqDone = false;
  const policy: Policy = {
    pick(_at, current, runnable) {
      if (stopped === undefined && runnable.includes(0)) return 0;
      if (!irqDone) {
        // The device first, then serviceFaults and the IRQ thread it wakes (task 3).
        for (const t of [1, 3, 2]) if (runnable.includes(t)) return t;
      }
      if (runnable.includes(0)) return 0;
      return defaultPick(current, runnable);
    },
  };
  const onPoint = (p: GroupPoint): void => {
    if (p.task === 0 && stopped === undefined && UNDO.test(p.what)) stopped = p.what;
  };
  return {
    policy,
    onPoint: (p) => {
      onPoint(p);
      // The IRQ thread's last step ends it: serviceFaults then waits in its workqueue flush.
      if (p.task === 2 && p.what.startsWith('flush_workqueue')) irqDone = true;
    },
    stoppedAt: () => stopped,
  };
}

describe('R04: the attach handle visible before the attach succeeds (5e9f822c9c68)', () => {
  test('a request reported inside the failed attach is queued with the handle; the bind frees it under the work: KASAN fires; replay is exact', () => {
    const h = insideTheWindow();
    const bad = runR04('R04', h.policy, h.onPoint);
    expect(h.stoppedAt()).toBe('xa_erase(&group->pasid_array)');
    expect(bad.bind).toEqual({ ok: false, errno: 'EINVAL' });
    expect(bad.splats).toHaveLength(1);
    expect(bad.splats[0]).toMatch(KASAN);
    // The work ran in a kworker the IRQ thread's report spawned.
    expect(bad.run.tasks.map((t) => t.kind)).toEqual(['cpu', 'hw', 'cpu', 'irq', 'kworker']);
    // One preemption (the bind at its xa_erase); the other switches are free (a task blocked or done).
    expect(bad.run.preemptions).toBe(1);
    const again = runR04('R04', replayPolicy(bad.run.schedule));
    expect(again.run.trace).toEqual(bad.run.trace);
    expect(again.splats).toEqual(bad.splats);
  });

  test('mainline on the same named schedule: the request finds only the reservation, is answered INVALID at once, nothing is queued', () => {
    const h = insideTheWindow();
    const good = runR04(undefined, h.policy, h.onPoint);
    expect(h.stoppedAt()).toBe('xa_release(&group->pasid_array)');
    expect(good.bind).toEqual({ ok: false, errno: 'EINVAL' });
    expect(good.splats).toEqual([]);
    expect(good.run.tasks.map((t) => t.kind)).toEqual(['cpu', 'hw', 'cpu', 'irq']);
    expect(good.handles).toBe(0);
  });

  test('preemption-bounded exploration (k = 1) finds it; mainline explores every schedule clean', () => {
    const found = explorePreemptionBounded((p) => runR04('R04', p), 1, 2000);
    // Two switches: the third (to the task the blocked one waits for) is the default rule's now.
    expect(found.found).toEqual({ switches: [{ at: 6, to: 1 }, { at: 8, to: 2 }] });
    expect(found.schedules).toBe(R04_SCHEDULES_TO_FIND);
    const clean = explorePreemptionBounded((p) => runR04(undefined, p), 1, 2000);
    expect(clean).toMatchObject({ complete: true, found: undefined, schedules: MAINLINE_SCHEDULES });
  });
});

/**
 * SMMUv3: the driver takes no PRI, and a stall master raises a stall only through a live CD, so
 * R04's window there is a group of two masters: the first master's CD is live when the second
 * one's arm_smmu_set_pasid fails (here its master_domain's kzalloc, the bind's 7th fallible
 * call: failNth(7)), until __iommu_set_group_pasid's unwind clears it. The first master's
 * access stalls; the event-queue thread reports it, finds the handle (R04) and queues the work;
 * the bind then frees the handle under it.
 */
const SMMU_TOPOLOGY: Topology = {
  platform: 'smmuv3',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, prqSize: 3 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false }],
  mms: 1, pages: 4, kpages: 1, ptLevels: 4,
};
/** The second master's attach begins: the first one's CD and STE are written. */
const SECOND_ATTACH = 'mutex_lock(arm_smmu_asid_lock)';
/** The k = 1 explorer's counts for the SMMUv3 group (measured; see R04_SCHEDULES_TO_FIND). */
const SMMU_SCHEDULES_TO_FIND = 493;
const SMMU_MAINLINE_SCHEDULES = 2380;

/** fail-nth is the bind task's (as a group's first member's: src/harness/group.ts). */
const SMMU_SETUP: R04Setup = {
  topology: SMMU_TOPOLOGY,
  arm: (kernel) => {
    inject_group_begin(kernel);
    failNth(kernel, 7);
  },
  inBind: inject_task,
  device: (dev, pasid) => dev.hw.dma(pasid, userVpn(1), true),
};
const runR04Smmu = (fault: FaultId | undefined, policy: Policy, onPoint?: (p: GroupPoint) => void): R04Run & { dma: unknown } =>
  runFailedBind(SMMU_SETUP, fault, policy, onPoint);

/** The hand schedule: the bind runs to its second master's attach; the access, serviceFaults and the event-queue thread; then the bind. */
function atSecondAttach(): { policy: Policy; onPoint: (p: GroupPoint) => void } {
  let seen = 0;
  let irqDone = false;
  return {
    policy: {
      pick(_at, current, runnable) {
        if (seen < 2 && runnable.includes(0)) return 0;
        if (!irqDone) for (const t of [1, 3, 2]) if (runnable.includes(t)) return t;
        if (runnable.includes(0)) return 0;
        return defaultPick(current, runnable);
      },
    },
    onPoint: (p) => {
      if (p.task === 0 && p.what === SECOND_ATTACH) seen++;
      if (p.task === 2 && p.what.startsWith('flush_workqueue')) irqDone = true;
    },
  };
}

describe('R04 on SMMUv3: a stall through the first master\'s CD while the second master\'s attach fails', () => {
  test('the event-queue thread queues the stall with the handle; the failed bind frees it under the work: KASAN fires', () => {
    const h = atSecondAttach();
    const bad = runR04Smmu('R04', h.policy, h.onPoint);
    expect(bad.bind).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(bad.dma).toMatchObject({ ok: false, pending: true });
    expect(bad.splats.at(-1)).toMatch(KASAN);
    expect(bad.run.tasks.map((t) => t.kind)).toEqual(['cpu', 'hw', 'cpu', 'irq', 'kworker']);
    const again = runR04Smmu('R04', replayPolicy(bad.run.schedule));
    expect(again.splats).toEqual(bad.splats);
  });

  test('mainline on the same schedule: the stall finds the reservation and is aborted; no work, no handle left', () => {
    const h = atSecondAttach();
    const good = runR04Smmu(undefined, h.policy, h.onPoint);
    expect(good.bind).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(good.dma).toMatchObject({ ok: false, pending: true });
    expect(good.splats).toEqual([]);
    expect(good.run.tasks.map((t) => t.kind)).toEqual(['cpu', 'hw', 'cpu', 'irq']);
    expect(good.handles).toBe(0);
  });

  test('preemption-bounded exploration (k = 1) finds it; mainline explores every schedule clean', () => {
    const found = explorePreemptionBounded((p) => runR04Smmu('R04', p), 1, 5000);
    expect(found.found).toBeDefined();
    expect(found.schedules).toBe(SMMU_SCHEDULES_TO_FIND);
    const clean = explorePreemptionBounded((p) => runR04Smmu(undefined, p), 1, 5000);
    expect(clean).toMatchObject({ complete: true, found: undefined, schedules: SMMU_MAINLINE_SCHEDULES });
  });
});
