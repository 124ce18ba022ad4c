import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology, iovaVpn } from '../../src/shared/index.js';
import type { Command, FaultId } from '../../src/shared/index.js';
import { runGroup } from '../../src/sched/group.js';
import { explorePreemptionBounded } from '../../src/sched/exhaustive.js';
import { replayPolicy } from '../../src/sched/policies.js';
import type { GroupMember, GroupPoint, GroupRun, Policy } from '../../src/sched/types.js';
import { KERNEL_OWNER } from '../../src/hw/mem.js';
import { type Co, preemptPoint } from '../../src/impl/core/sched.js';
import { PASID_FLAG_FL5LP, __domain_setup_first_level } from '../../src/impl/vtd/pasid.js';
import { dev_iommu_priv_get, to_dmar_domain } from '../../src/impl/vtd/dmar.js';
import { domain_id_iommu, intel_domain_is_fs_paging } from '../../src/impl/vtd/cache.js';

/**
 * R05 (c3b1edea3791, "Fix race condition during PASID entry replacement", CVE-2026-45945): the
 * pre-fix replace wrote the new entry over the present one with `*pte = new_pte`, 64-bit stores
 * in ascending order, while the IOMMU may fetch the entry between two of them. Replacing the
 * second-stage hwpt 0 (SLPTPTR in val[0], FLPTR 0) by the first-stage hwpt 1: a fetch after the
 * val[0] store sees P with PGTT = FL and the old val[2], FLPTR 0, so the walk starts at frame 0.
 *
 * Here the driver-level replace (__domain_setup_first_level with an old domain) is stepped by
 * hand against a device task, so each store of the torn window can be named. The same race
 * through whole commands, a {replacePasid, dmaPasid} group under the harness's schedulers and
 * its linearizability check, is test/harness/groupReplace.test.ts.
 */
const PASID = 5;
const PREFIX: readonly Command[] = [
  { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: PASID },
  // hwpt 1 attached at another PASID: its domain, DID and page table exist before the replace.
  { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 6 },
  { kind: 'iommuMap', hwpt: 0, page: 0, write: false },
  { kind: 'iommuMap', hwpt: 1, page: 0, write: false },
  // No DMA at PASID 5 before the group: a cold PASID cache makes the device fetch the entry.
];
const t = defaultTopology('vtd');
const DMA_POINT = preemptPoint('device dev0 issues dmaIova at PASID 5');
/** The stop that tears: val[0] stored (P, PGTT = FL, SLPTPTR = 0), val[1] and val[2] still the old entry's. */
const TORN_STOP = 'pasid entry pe->val[1] store';

/** The walk's fault on a non-present PASID entry ('<unit>: no-pasid-entry'): what a DMA linearized inside the replace may see. */
const NON_PRESENT = /: no-pasid-entry$/;

type Dma = { ok: true; token: unknown } | { ok: false; fault: string };

/** A fresh world after the prefix, and the two members: the replace of PASID 5 by hwpt 1, and a device DMA at PASID 5. */
function world(fault?: FaultId) {
  const r = runSequence(t, PREFIX, fault === undefined ? {} : { fault });
  if (!r.ok) throw new Error(r.error);
  const s = r.value.session;
  expect(s.violation).toBeUndefined();
  const w = s.world;
  const dev = w.devices[0]!;
  const iommu = dev_iommu_priv_get(dev).iommu;
  const d1 = to_dmar_domain(w.hwpts[1]!.domain!);
  expect(intel_domain_is_fs_paging(d1)).toBe(true);
  // hwpt 0 is the harness's nest parent: a second-stage entry (SLPTPTR in val[0], FLPTR zero).
  expect(intel_domain_is_fs_paging(to_dmar_domain(w.hwpts[0]!.domain!))).toBe(false);
  const pt = d1.pgtable!;
  const oldToken = s.spec.hwpts[0]!.token[0];
  const newToken = s.spec.hwpts[1]!.token[0];
  expect(oldToken).not.toBe(newToken);
  function* replace(): Co<unknown> {
    return yield* __domain_setup_first_level(iommu, dev, PASID, domain_id_iommu(d1, iommu), pt.radix.root, pt.levels === 5 ? PASID_FLAG_FL5LP : 0, true);
  }
  function* dma(): Co<unknown> {
    yield DMA_POINT;
    return dev.hw.dma(PASID, iovaVpn(0), false);
  }
  const members = (): GroupMember[] => [
    { name: 'cpu1:replace', kind: 'cpu', body: replace() },
    { name: 'hw:dev0', kind: 'hw', body: dma() },
  ];
  const dmaNow = (): Dma => dev.hw.dma(PASID, iovaVpn(0), false) as Dma;
  const roots = [to_dmar_domain(w.hwpts[0]!.domain!).pgtable!.radix.root, pt.radix.root];
  return { kernel: w.kernel, members, oldToken, newToken, dmaNow, roots };
}

/**
 * The device-side linearizability check of {replace, dma}, then a DMA after both: the group's
 * DMA translates as the old entry, as the new one, or faults as non-present; the DMA after the
 * replace returned reads the new domain's buffer.
 */
function linearizable(w: ReturnType<typeof world>, run: GroupRun): { inGroup: Dma; after: Dma; ok: boolean } {
  expect(run.results[0]).toBe(0);
  const inGroup = run.results[1] as Dma;
  const after = w.dmaNow();
  const allowed = inGroup.ok ? inGroup.token === w.oldToken || inGroup.token === w.newToken : NON_PRESENT.test(inGroup.fault);
  return { inGroup, after, ok: allowed && after.ok && after.token === w.newToken };
}

/** Run cpu1:replace until it stops at `what`, then the device, then the rest. */
function stopAt(what: string): { policy: Policy; onPoint: (p: GroupPoint) => void } {
  let last = '';
  let switched = false;
  return {
    onPoint: (p) => {
      if (p.task === 0) last = p.what;
    },
    policy: {
      pick(_at, current, runnable) {
        if (!switched && current === 0 && last === what && runnable.includes(1)) {
          switched = true;
          return 1;
        }
        return current >= 0 ? current : runnable[0]!;
      },
    },
  };
}

describe('R05: the IOMMU fetches a torn PASID entry during an in-place replacement (fixed by c3b1edea3791)', () => {
  test('Hand schedule: the device fetches after the val[0] store; the torn entry walks from FLPTR 0 and faults, which no order gives', () => {
    const w = world('R05');
    const h = stopAt(TORN_STOP);
    const run = runGroup(w.kernel, w.members(), h.policy, { record: true, onPoint: h.onPoint });
    expect(run.deadlock).toBeUndefined();
    expect(run.preemptions).toBe(1);
    // The device ran while cpu1 stood at the val[2] store.
    const dmaAt = run.trace!.findIndex((p) => p.task === 1 && p.what === 'done');
    expect(run.trace!.slice(0, dmaAt).filter((p) => p.task === 0).at(-1)?.what).toBe(TORN_STOP);
    const r = linearizable(w, run);
    // The torn entry is present, first-level (new val[0]) with FLPTR 0 (old val[2] of a
    // second-stage entry): the walk starts at frame 0 and faults in the page walk. Neither order
    // gives that: before the replace the DMA reads hwpt 0's buffer, after it hwpt 1's, and a
    // DMA inside a correct replace sees a non-present entry.
    expect(r.inGroup).toEqual({ ok: false, fault: 'vtd0: not-present' });
    expect(r.ok).toBe(false);
    // Frame 0 is a live kernel-owned table, neither domain's: the walk read a foreign table
    // (no anomaly is logged, as it is a table, and its slot for IOVA page 0 is empty).
    expect([w.kernel.mem.kind(0), w.kernel.mem.owner(0)]).toEqual(['table', KERNEL_OWNER]);
    expect(w.roots).not.toContain(0);
    expect(w.kernel.mem.anomalies).toEqual([]);
    // The torn snapshot was cached under the old DID, so the replace's old-DID PASID-cache flush
    // drops it: after the replace the device reads the new buffer.
    expect(r.after).toEqual({ ok: true, token: w.newToken });
    // The recorded schedule (one switch) replays exactly.
    expect(run.schedule.switches).toHaveLength(1);
    const again = world('R05');
    const replay = runGroup(again.kernel, again.members(), replayPolicy(run.schedule));
    expect(linearizable(again, replay)).toMatchObject({ ok: false, inGroup: { ok: false, fault: 'vtd0: not-present' } });
  });

  test('Mainline on the same stop: P is clear at the first val[1] store (teardown first), so the device faults, and the DMA after reads the new buffer', () => {
    const w = world();
    const h = stopAt(TORN_STOP);
    const run = runGroup(w.kernel, w.members(), h.policy, { record: true, onPoint: h.onPoint });
    expect(run.preemptions).toBe(1);
    const r = linearizable(w, run);
    expect(r.inGroup).toEqual({ ok: false, fault: 'vtd0: no-pasid-entry' });
    expect(r.ok).toBe(true);
    expect(w.kernel.mem.anomalies).toEqual([]);
  });

  test('B60 keeps its rule-form detection; R05 does not log the live rewrite (it must be caught by the device)', () => {
    const hand: readonly Command[] = [{ kind: 'attachPasid', dev: 0, hwpt: 0, pasid: PASID }, { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 }];
    const b60 = runSequence(t, hand, { fault: 'B60' });
    if (!b60.ok) throw new Error(b60.error);
    expect(b60.value.session.violation).toMatchObject({ invariant: 'I7' });
    const r05 = runSequence(t, hand, { fault: 'R05' });
    if (!r05.ok) throw new Error(r05.error);
    expect(r05.value.session.violation).toBeUndefined();
  });

  test('Preemption-bounded exploration (k = 1) of {replace, dma} finds it; mainline explores the whole tree clean', () => {
    const explore = (fault?: FaultId) =>
      explorePreemptionBounded((p) => {
        const w = world(fault);
        const run = runGroup(w.kernel, w.members(), p);
        return { run, bad: !linearizable(w, run).ok };
      }, 1, 10_000);
    const bad = explore('R05');
    expect(bad.found).toBeDefined();
    expect(bad.found!.switches).toHaveLength(1);
    expect(bad.schedules).toBe(18); // 3 before the QI waits yielded: the DFS tries the later points first
    const good = explore();
    // 12 before qi_submit_sync had yield points (q_lock and its poll): the teardown's three flushes add them.
    expect(good).toEqual({ schedules: 27, complete: true, found: undefined });
  });
});
