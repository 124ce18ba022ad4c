import { describe, expect, test } from 'vitest';
import { Sink } from '../../properties/hardware/platform.js';
import { checkAtcs } from '../../properties/hardware/staleAtc.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { tlb_gather_mmu } from '../../src/impl/core/mmuGather.js';
import { type Co, preemptPoint, sync } from '../../src/impl/core/sched.js';
import type { MmStruct } from '../../src/impl/core/types.js';
import { unmap_page_range } from '../../src/impl/core/zap.js';
import { explorePreemptionBounded, replayPolicy, runGroup } from '../../src/sched/index.js';
import type { GroupPoint, GroupRun, Policy } from '../../src/sched/index.js';
import { defaultPick } from '../../src/sched/policies.js';
import { PAGE_SIZE, userVpn, type Command, type FaultId, type Topology } from '../../src/shared/index.js';

/**
 * R02 (353e3cf8590c, "iommu/arm-smmu-v3: Fix ATC invalidation ordering wrt main TLBs", v5.4-rc1):
 * the ATC must be invalidated after the main TLB's TLBI + CMD_SYNC, or the device refills its ATC
 * from the still-valid TLB entry. The 2019 bug was on the DMA-API ->unmap path; the variant carries
 * the old order on the SVA notifier (the port has no SMMUv3 ->unmap).
 *
 * Driver level, until the core's munmap path is a task (branch w1b): the munmap member is
 * do_munmap's order written out (zap the PTE, the secondary-TLB notifier as a generator, then the
 * page goes back), and the device member is one DMA after a preempt point.
 */
const TOPOLOGY: Topology = {
  platform: 'smmuv3',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true }],
  devices: [{ iommu: 0, group: 0, pasidBits: 4, ats: true, pri: false }],
  mms: 2, pages: 4, kpages: 1, ptLevels: 4,
};
const PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
];
const CMD_SYNC_WAIT = 'arm_smmu_cmdq_poll_until_sync';
/**
 * Schedules the CHESS-style explorer (k = 1) runs. It backtracks from the deepest decision, so
 * after the default run it tries switches at the munmap's last points first: the third schedule
 * switches to the device at the munmap's `store TLBI_NH_VA` yield (point 6), the race. Mainline's
 * whole tree (no switch, or one at each of the munmap's points) is 10 schedules, all clean.
 */
const R02_SCHEDULES_TO_FIND = 3;
const MAINLINE_SCHEDULES = 10;
const DMA_POINT = preemptPoint('device dev0 issues dma (R02 test)');

/** do_munmap of one page, its notifier call stepped: zap, arch_invalidate_secondary_tlbs, free. */
function* munmapTask(mm: MmStruct, page: number): Co {
  const tlb = tlb_gather_mmu(mm);
  sync(mm.kernel, unmap_page_range(tlb, page, page + 1)); // its one preempt point is not this test's subject
  const start = BigInt(tlb.start) * PAGE_SIZE;
  const end = BigInt(tlb.end) * PAGE_SIZE;
  for (const sub of [...mm.notifiers]) yield* sub.ops.arch_invalidate_secondary_tlbs(sub, mm, start, end);
  for (const f of tlb.pages) mm.kernel.mem.free(f);
}

/** The group on a fresh session after the prefix; `bad` when I6's ATC check fires at its end. */
function runR02(fault: FaultId | undefined, policy: Policy, onPoint?: (p: GroupPoint) => void): { run: GroupRun; bad: boolean; i6: string[] } {
  const s = openSession(TOPOLOGY, fault === undefined ? {} : { fault });
  for (const c of PREFIX) expect(checkedStep(s, c), `${c.kind}`).toEqual([]);
  const mm = s.world.mms[0]!;
  const dev = s.world.devices[0]!;
  const pasid = mm.iommu_mm!.pasid;
  const dma = function* (): Co<boolean> {
    yield DMA_POINT;
    return dev.hw.dma(pasid, userVpn(0), false).ok;
  };
  const run = runGroup(s.world.kernel, [
    { name: 'cpu1:munmap', kind: 'cpu', body: munmapTask(mm, 0) },
    { name: 'hw:dev0', kind: 'hw', body: dma() },
  ], policy, { record: true, ...(onPoint === undefined ? {} : { onPoint }) });
  const sink = new Sink('I6');
  checkAtcs(s.world, sink);
  const i6 = (sink.list ?? []).map((v) => v.message);
  return { run, bad: i6.length > 0, i6 };
}

/**
 * The hand schedule, by named points: run the munmap until the first yield after its first
 * CMD_SYNC wait (between its two invalidations), then the device's DMA to its end, then the rest.
 */
function betweenInvalidations(): { policy: Policy; onPoint: (p: GroupPoint) => void; stoppedAt: () => string | undefined } {
  let synced = false;
  let stopped: string | undefined;
  const policy: Policy = {
    pick(_at, current, runnable) {
      if (stopped === undefined && runnable.includes(0)) return 0;
      if (runnable.includes(1)) return 1;
      return defaultPick(current, runnable);
    },
  };
  const onPoint = (p: GroupPoint): void => {
    if (p.task !== 0 || stopped !== undefined) return;
    if (synced) stopped = p.what;
    else if (p.what === CMD_SYNC_WAIT) synced = true;
  };
  return { policy, onPoint, stoppedAt: () => stopped };
}

describe('R02: ATC invalidated before the main TLB (353e3cf8590c; the ->unmap bug carried on the SVA notifier)', () => {
  test('stopped between ATC_INV + CMD_SYNC and the TLBI, the DMA refills the ATC from the stale TLB: I6 fires; replay is exact', () => {
    const h = betweenInvalidations();
    const bad = runR02('R02', h.policy, h.onPoint);
    expect(h.stoppedAt()).toBe('arm_smmu_cmdq_issue_cmdlist: store TLBI_NH_VA');
    expect(bad.bad).toBe(true);
    expect(bad.i6[0]).toMatch(/dev0 ATC entry PASID \d+ vpn 0x[0-9a-f]+ → frame \d+ rw disagrees with mm0's page tables/);
    expect(bad.run.schedule.switches.length).toBeGreaterThan(0);
    expect(bad.run.preemptions).toBe(1);
    const again = runR02('R02', replayPolicy(bad.run.schedule));
    expect(again.bad).toBe(true);
    expect(again.run.trace).toEqual(bad.run.trace);
    expect(again.i6).toEqual(bad.i6);
  });

  test('mainline on the same named schedule stops after TLBI + CMD_SYNC: the DMA hits the old ATC entry, ATC_INV then drops it', () => {
    const h = betweenInvalidations();
    const good = runR02(undefined, h.policy, h.onPoint);
    expect(h.stoppedAt()).toBe('arm_smmu_atc_inv_domain: smp_mb() before atomic_read(&nr_ats_masters)');
    expect(good.run.preemptions).toBe(1);
    expect(good.i6).toEqual([]);
  });

  test('preemption-bounded exploration (k = 1) finds it; mainline explores every schedule clean', () => {
    const found = explorePreemptionBounded((p) => runR02('R02', p), 1, 1000);
    expect(found.found).toBeDefined();
    expect(found.schedules).toBe(R02_SCHEDULES_TO_FIND);
    const clean = explorePreemptionBounded((p) => runR02(undefined, p), 1, 1000);
    expect(clean).toMatchObject({ complete: true, found: undefined, schedules: MAINLINE_SCHEDULES });
  });
});
