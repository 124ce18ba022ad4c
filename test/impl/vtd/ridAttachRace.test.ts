import { describe, expect, test } from 'vitest';
import { Sink } from '../../../properties/hardware/platform.js';
import { checkAtcs } from '../../../properties/hardware/staleAtc.js';
import { checkedStep, openSession } from '../../../src/harness/index.js';
import { attachPasid, ioasUnmap } from '../../../src/impl/iommufd.js';
import { type Co, preemptPoint } from '../../../src/impl/core/sched.js';
import { dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import type { Device } from '../../../src/impl/core/types.js';
import { explorePreemptionBounded, replayPolicy, runGroup, type GroupPoint, type Policy } from '../../../src/sched/index.js';
import { defaultPick } from '../../../src/sched/policies.js';
import { iovaVpn, type Command, type FindingName, type Topology } from '../../../src/shared/index.js';

/** Two ATS endpoints in two groups behind one VT-d unit; HWPT 1 at dev1's RID, IOVA page 0 mapped. */
const TOPOLOGY: Topology = {
  platform: 'vtd',
  iommus: [{ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, prqSize: 8 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 4, ats: true, pri: false }, { iommu: 0, group: 1, pasidBits: 4, ats: true, pri: false }],
  mms: 1, pages: 1, kpages: 0, ptLevels: 4,
};
const PREFIX: readonly Command[] = [{ kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 0 }, { kind: 'iommuMap', hwpt: 1, page: 0, write: false }];
const DMA_POINT = preemptPoint('device dev0 issues dma without PASID (RID race test)');

/** The group on a fresh session after the prefix, scheduled by `make`'s policy; I6's ATC half afterwards. */
const runRace = (fixes: readonly FindingName[], make: (dev0: Device) => { policy: Policy; onPoint?: (p: GroupPoint) => void }) => {
  const s = openSession(TOPOLOGY, { fixes });
  for (const c of PREFIX) expect(checkedStep(s, c), c.kind).toEqual([]);
  const w = s.world;
  const dev0 = w.devices[0]!;
  const dma = function* (): Co<boolean> {
    yield DMA_POINT;
    return dev0.hw.dma(0, iovaVpn(0), false).ok;
  };
  const { policy, onPoint } = make(dev0);
  const run = runGroup(w.kernel, [
    { name: 'cpu1:attach', kind: 'cpu', body: attachPasid(w, dev0, 1, 0) },
    { name: 'hw:dev0', kind: 'hw', body: dma() },
    { name: 'cpu2:unmap', kind: 'cpu', body: ioasUnmap(w, 1, 0) },
  ], policy, { record: true, ...(onPoint === undefined ? {} : { onPoint }) });
  const sink = new Sink('I6');
  checkAtcs(w, sink);
  const i6 = (sink.list ?? []).map((v) => v.message);
  return { run, bad: i6.length > 0, i6 };
};

/**
 * The hand schedule, by named points: the attach until dev0's IOMMU_NO_PASID entry is present,
 * then the DMA, then the unmap, each to its end, then the rest of the attach.
 */
const afterEntryPresent = (stopped: { at?: string }) => (dev0: Device) => {
  const policy: Policy = {
    pick(_at, current, runnable) {
      if (stopped.at === undefined && runnable.includes(0)) return 0;
      if (runnable.includes(1)) return 1;
      if (runnable.includes(2)) return 2;
      return defaultPick(current, runnable);
    },
  };
  const onPoint = (p: GroupPoint): void => {
    if (p.task === 0 && stopped.at === undefined && dev_iommu_priv_get(dev0).pasid_table?.fetch(0)?.present === true) stopped.at = p.what;
  };
  return { policy, onPoint };
};

/** Schedules the explorer (k = 1) runs until it finds the race; the fixed kernel's whole k = 1 tree. */
const MAINLINE_SCHEDULES_TO_FIND = 24;
const FIXED_SCHEDULES = 185;

describe('a VT-d RID attach writes the IOMMU_NO_PASID entry before it assigns the cache tags (dmar_domain_attach_device, v7.0)', () => {
  test('mainline: a DMA in between fills the ATC, and a concurrent unmap, whose flush walks the tags, misses it: I6', () => {
    const stopped: { at?: string } = {};
    const r = runRace([], afterEntryPresent(stopped));
    // The first yield after the entry's last store: dmar_domain_attach_device has not reached cache_tag_assign_domain.
    expect(stopped.at).toBeDefined();
    expect(r.run.results).toEqual([{ ok: true, value: 0 }, true, { ok: true }]);
    expect(r.i6).toEqual([expect.stringMatching(/^dev0 ATC entry PASID 0 /)]);
    expect(r.run.preemptions).toBe(1);
    const again = runRace([], () => ({ policy: replayPolicy(r.run.schedule) }));
    expect(again.run.trace).toEqual(r.run.trace);
    expect(again.i6).toEqual(r.i6);
  });

  test('the tags assigned right after the DID (the fix proposed for vtd-rid-attach-tags-twice): the same schedule is clean', () => {
    const stopped: { at?: string } = {};
    const r = runRace(['vtd-rid-attach-tags-twice'], afterEntryPresent(stopped));
    expect(stopped.at).toBeDefined();
    expect(r.i6).toEqual([]);
  });

  test('preemption-bounded exploration (k = 1) finds it on mainline; the fixed kernel explores every schedule clean', () => {
    const found = explorePreemptionBounded((p) => runRace([], () => ({ policy: p })), 1, 5000);
    expect(found.found).toBeDefined();
    expect(found.schedules).toBe(MAINLINE_SCHEDULES_TO_FIND);
    const clean = explorePreemptionBounded((p) => runRace(['vtd-rid-attach-tags-twice'], () => ({ policy: p })), 1, 5000);
    expect(clean).toMatchObject({ complete: true, found: undefined, schedules: FIXED_SCHEDULES });
  });
});
