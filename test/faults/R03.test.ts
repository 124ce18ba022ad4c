import { describe, expect, test } from 'vitest';
import { Sink } from '../../properties/hardware/platform.js';
import { checkAtcs } from '../../properties/hardware/staleAtc.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { tlb_gather_mmu } from '../../src/impl/core/mmuGather.js';
import { type Co, preemptPoint, sync } from '../../src/impl/core/sched.js';
import type { Device, MmStruct } from '../../src/impl/core/types.js';
import { unmap_page_range } from '../../src/impl/core/zap.js';
import { to_smmu_domain } from '../../src/impl/smmuv3/structs.js';
import { explorePreemptionBounded, replayPolicy, runGroup } from '../../src/sched/index.js';
import type { GroupPoint, GroupRun, Policy } from '../../src/sched/index.js';
import { defaultPick } from '../../src/sched/policies.js';
import { PAGE_SIZE, userVpn, type Command, type FaultId, type Topology } from '../../src/shared/index.js';

/**
 * R03: the ordering rule of cdb8a3c34635 ("iommu/arm-smmu-v3: Avoid locking on invalidation path
 * when not using ATS", v5.4-rc1), which arm_smmu_atc_inv_domain still documents with a two-column
 * diagram: arm_smmu_enable_ats's atomic_inc(&nr_ats_masters) must come before pci_enable_ats, so
 * an invalidation that reads the count after its TLBI + SYNC sees every master that can already
 * fill its ATC. No commit ever fixed a violation: R03 moves the increment after pci_enable_ats.
 *
 * Driver level, until the core's bind and munmap paths are tasks (branches w1a, w1b): the mm is
 * already bound to a non-ATS dev1, so its SVA domain exists with nr_ats_masters = 0; the bind
 * member is the driver attach the core's bind of dev0 makes on that domain (set_dev_pasid at the
 * mm's PASID), the munmap member is do_munmap's order written out, the device member one DMA.
 */
const TOPOLOGY: Topology = {
  platform: 'smmuv3',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true }],
  devices: [{ iommu: 0, group: 0, pasidBits: 4, ats: true, pri: false }, { iommu: 0, group: 1, pasidBits: 4, ats: false, pri: false }],
  mms: 2, pages: 4, kpages: 1, ptLevels: 4,
};
const PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 1, mm: 0 },
];
const DMA_POINT = preemptPoint('device dev0 issues dma (R03 test)');
/**
 * Schedules the explorer (k = 1) runs until it finds the race, and mainline's whole k = 1 tree:
 * three tasks, so after each preemption the free picks at task ends branch too. Mainline is clean
 * on all 142 only because the endpoint fills its ATC from pci_enable_ats on (its ATS Enable bit);
 * with ATS as a fixed capability a DMA between the CD write and arm_smmu_enable_ats would fill an
 * ATC no invalidation covers yet, in either kernel.
 */
const R03_SCHEDULES_TO_FIND = 16;
const MAINLINE_SCHEDULES = 142;

/** do_munmap of one page, its notifier call stepped: zap, arch_invalidate_secondary_tlbs, free. */
function* munmapTask(mm: MmStruct, page: number): Co {
  const tlb = tlb_gather_mmu(mm);
  sync(mm.kernel, unmap_page_range(tlb, page, page + 1)); // its one preempt point is not this test's subject
  const start = BigInt(tlb.start) * PAGE_SIZE;
  const end = BigInt(tlb.end) * PAGE_SIZE;
  for (const sub of [...mm.notifiers]) yield* sub.ops.arch_invalidate_secondary_tlbs(sub, mm, start, end);
  for (const f of tlb.pages) mm.kernel.mem.free(f);
}

interface R03Run { run: GroupRun; bad: boolean; i6: string[]; attach: unknown; nr_ats_masters: number }

/** The group on a fresh session after the prefix; `policy` may look at the world's dev0. */
function runR03(fault: FaultId | undefined, make: (dev0: Device) => { policy: Policy; onPoint?: (p: GroupPoint) => void }): R03Run {
  const s = openSession(TOPOLOGY, fault === undefined ? {} : { fault });
  for (const c of PREFIX) expect(checkedStep(s, c), `${c.kind}`).toEqual([]);
  const mm = s.world.mms[0]!;
  const dev0 = s.world.devices[0]!;
  const pasid = mm.iommu_mm!.pasid;
  const domain = mm.iommu_mm!.sva_domains[0]!;
  expect(to_smmu_domain(domain).nr_ats_masters).toBe(0);
  const dma = function* (): Co<boolean> {
    yield DMA_POINT;
    return dev0.hw.dma(pasid, userVpn(0), false).ok;
  };
  const { policy, onPoint } = make(dev0);
  const run = runGroup(s.world.kernel, [
    { name: 'cpu1:bind', kind: 'cpu', body: domain.ops.set_dev_pasid(domain, dev0, pasid, undefined) },
    { name: 'hw:dev0', kind: 'hw', body: dma() },
    { name: 'cpu2:munmap', kind: 'cpu', body: munmapTask(mm, 0) },
  ], policy, { record: true, ...(onPoint === undefined ? {} : { onPoint }) });
  const sink = new Sink('I6');
  checkAtcs(s.world, sink);
  const i6 = (sink.list ?? []).map((v) => v.message);
  return { run, bad: i6.length > 0, i6, attach: run.results[0], nr_ats_masters: to_smmu_domain(domain).nr_ats_masters };
}

/**
 * The hand schedule, by named points: run the bind until its first yield after the endpoint's
 * ATS Enable is set (pci_enable_ats in arm_smmu_enable_ats), then the device's DMA, then the
 * munmap, each to its end, then the rest of the bind.
 */
function afterAtsEnable(stoppedAt: { what?: string }) {
  return (dev0: Device) => {
    let stopped = false;
    const policy: Policy = {
      pick(_at, current, runnable) {
        if (!stopped && runnable.includes(0)) return 0;
        if (runnable.includes(1)) return 1;
        if (runnable.includes(2)) return 2;
        return defaultPick(current, runnable);
      },
    };
    const onPoint = (p: GroupPoint): void => {
      if (p.task !== 0 || stopped || !dev0.hw.atsEnabled) return;
      stopped = true;
      stoppedAt.what = p.what;
    };
    return { policy, onPoint };
  };
}

describe('R03: nr_ats_masters raised after pci_enable_ats (constructed from the rule of cdb8a3c34635; no fix commit)', () => {
  test('the invalidation between pci_enable_ats and the moved atomic_inc reads 0 and skips the ATC the DMA just filled: I6 fires; replay is exact', () => {
    const at: { what?: string } = {};
    const bad = runR03('R03', afterAtsEnable(at));
    expect(at.what).toBe('spin_lock(&smmu_domain->devices_lock)');
    expect(bad.attach).toBe(0);
    expect(bad.nr_ats_masters).toBe(1);
    expect(bad.bad).toBe(true);
    expect(bad.i6[0]).toMatch(/dev0 ATC entry PASID \d+ vpn 0x[0-9a-f]+ → frame \d+ rw disagrees with mm0's page tables/);
    expect(bad.run.preemptions).toBe(1);
    const again = runR03('R03', () => ({ policy: replayPolicy(bad.run.schedule) }));
    expect(again.run.trace).toEqual(bad.run.trace);
    expect(again.i6).toEqual(bad.i6);
  });

  test('mainline on the same named schedule: the count is 1 from attach_prepare, so the munmap sends ATC_INV to dev0', () => {
    const at: { what?: string } = {};
    const good = runR03(undefined, afterAtsEnable(at));
    // No yield between pci_enable_ats and `master->ats_enabled = true`: the next is the end of
    // arm_smmu_set_pasid's arm_smmu_asid_lock section.
    expect(at.what).toBe('mutex_unlock(arm_smmu_asid_lock)');
    expect(good.attach).toBe(0);
    expect(good.run.preemptions).toBe(1);
    expect(good.i6).toEqual([]);
    expect(good.nr_ats_masters).toBe(1);
  });

  test('preemption-bounded exploration (k = 1) finds it; mainline explores every schedule clean', () => {
    const found = explorePreemptionBounded((p) => runR03('R03', () => ({ policy: p })), 1, 5000);
    expect(found.found).toBeDefined();
    expect(found.schedules).toBe(R03_SCHEDULES_TO_FIND);
    const clean = explorePreemptionBounded((p) => runR03(undefined, () => ({ policy: p })), 1, 5000);
    expect(clean).toMatchObject({ complete: true, found: undefined, schedules: MAINLINE_SCHEDULES });
  });
});
