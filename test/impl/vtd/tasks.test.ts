import { describe, expect, test } from 'vitest';
import { defaultTopology, userVpn } from '../../../src/shared/index.js';
import { lockdep_held, mutex_lock, mutex_unlock, spin_lock, spin_unlock } from '../../../src/impl/core/locking.js';
import { type Co, preemptPoint, sync } from '../../../src/impl/core/sched.js';
import { intel_iommu_drain_pasid_prq } from '../../../src/impl/vtd/prq.js';
import { qi_submit_sync } from '../../../src/impl/vtd/qi.js';
import { QI_LENGTH } from '../../../src/hw/vtd/invQueue.js';
import { runGroup } from '../../../src/sched/group.js';
import type { GroupPoint, Policy } from '../../../src/sched/types.js';
import { bindAll, populated, vtdWorld } from './fixture.js';

const POLL = 'qi_submit_sync: cpu_relax() polling desc_status[wait_index]';
const PC = { kind: 'pc', granularity: 'pasid', did: 1, pasid: 1 } as const;

describe('qi_submit_sync under &qi->q_lock', () => {
  test('the wait is done by the first poll; the poll turn yields with q_lock dropped, then the slots are reclaimed', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    const iommu = w.iommu(0);
    const q = iommu.unit.queue;
    const waits = q.completedWaits;
    const index = iommu.qi.free_head;
    const co = qi_submit_sync(iommu, [PC]);
    expect(co.next().value).toMatchObject({ kind: 'preempt', what: 'spin_lock(&qi->q_lock)' });
    // Filled, the tail written: the emulated unit ran the queue up to the wait at once.
    expect(co.next().value).toMatchObject({ what: 'spin_unlock(&qi->q_lock)' });
    expect([q.completedWaits - waits, q.pendingCount]).toEqual([1, 0]);
    expect([0, 1].map((i) => iommu.qi.desc_status[(index + i) % QI_LENGTH])).toEqual([1, 1]); // QI_IN_USE until reclaimed
    expect(co.next().value).toMatchObject({ kind: 'preempt', what: POLL });
    expect(lockdep_held(iommu.kernel)).toEqual([]);
    expect(co.next().value).toMatchObject({ what: 'spin_lock(&qi->q_lock)' });
    expect(co.next().value).toMatchObject({ what: 'spin_unlock(&qi->q_lock)' });
    expect(co.next()).toEqual({ done: true, value: true });
    expect([0, 1].map((i) => iommu.qi.desc_status[(index + i) % QI_LENGTH])).toEqual([0, 0]);
    expect(w.takeQueue(0)).toEqual([`pc did=1 pasid=1`, 'wait']);
  });

  test('two CPUs on one IOMMU: the second batch takes the slots after the first one\'s wait, inside the first\'s poll turn', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    const iommu = w.iommu(0);
    const start = iommu.qi.free_head;
    const heads: number[] = [];
    function* submit(n: number): Co<boolean> {
      heads.push(iommu.qi.free_head); // where the CPU finds the ring when its task first runs
      return yield* qi_submit_sync(iommu, Array.from({ length: n }, () => PC));
    }
    // cpu0 runs until it stands in its poll turn, then cpu1 submits its whole batch.
    let last = '';
    let switched = false;
    const policy: Policy = {
      pick(_at, current, runnable) {
        if (!switched && current === 0 && last === POLL) {
          switched = true;
          return 1;
        }
        return current >= 0 ? current : runnable[0]!;
      },
    };
    const onPoint = (p: GroupPoint): void => {
      if (p.task === 0) last = p.what;
    };
    const run = runGroup(iommu.kernel, [
      { name: 'cpu0', kind: 'cpu', body: submit(2) },
      { name: 'cpu1', kind: 'cpu', body: submit(1) },
    ], policy, { record: true, onPoint });
    expect(run.deadlock).toBeUndefined();
    expect(run.preemptions).toBe(1);
    expect(run.results).toEqual([true, true]);
    // cpu1 first ran in cpu0's poll turn: free_head already past cpu0's two descriptors and its wait.
    expect(heads).toEqual([start, (start + 3) % QI_LENGTH]);
    expect(iommu.qi.free_head).toBe((start + 5) % QI_LENGTH);
    expect([0, 1, 2, 3, 4].map((i) => iommu.qi.desc_status[(start + i) % QI_LENGTH])).toEqual([0, 0, 0, 0, 0]);
    expect(w.takeQueue(0)).toEqual(['pc did=1 pasid=1', 'pc did=1 pasid=1', 'wait', 'pc did=1 pasid=1', 'wait']);
    expect(w.world.core.warnings).toEqual([]);
    // cpu1 ran between cpu0's poll and its re-lock.
    const at = run.trace!.findIndex((p) => p.task === 1);
    expect(run.trace![at - 1]).toMatchObject({ task: 0, what: POLL });
  });
});

describe('lockdep and the VT-d locks', () => {
  test('&iommu->lock is a spinlock: a sleeping lock taken under it is reported', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    const iommu = w.iommu(0);
    function* body(): Co {
      yield* spin_lock(iommu.lock);
      yield* mutex_lock(iommu.iopf_lock);
      yield* mutex_unlock(iommu.iopf_lock);
      yield* spin_unlock(iommu.lock);
    }
    sync(iommu.kernel, body());
    expect(w.world.core.warnings).toEqual([
      'BUG: sleeping function called from invalid context at mutex_lock(&iommu->iopf_lock) (in_atomic(): 1, holding &iommu->lock)',
    ]);
  });

  test('the PRQ drain sleeps: called under &iommu->lock with a request queued it is reported (the 2020 splat of intel_svm_drain_prq in intel_mm_release)', () => {
    const t = { ...defaultTopology('vtd'), devices: defaultTopology('vtd').devices.map((d, i) => (i === 0 ? { ...d, pri: true, ats: true } : d)) };
    const w = vtdWorld(t);
    w.run(...populated(1), ...bindAll([0]), { kind: 'munmap', mm: 0, first: 0, count: 1 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    const iommu = w.iommu(0);
    const dev = w.world.devices[0]!;
    expect(iommu.unit.prq.pending.length).toBe(1);
    function* body(): Co {
      yield* spin_lock(iommu.lock);
      yield* intel_iommu_drain_pasid_prq(dev, w.world.mms[0]!.iommu_mm!.pasid);
      yield* spin_unlock(iommu.lock);
    }
    sync(iommu.kernel, body());
    expect(w.world.core.warnings.filter((x) => x.startsWith('BUG: sleeping function called from invalid context'))).toEqual([
      'BUG: sleeping function called from invalid context at wait_for_completion(&iommu->prq_complete) (in_atomic(): 1, holding &iommu->lock)',
    ]);
    // The drain did run the thread: the request was reported, so the PRQ is empty.
    expect(iommu.unit.prq.pending).toEqual([]);
  });
});

describe('the PRQ thread as a task of a group', () => {
  test('a request that arrives while the thread runs (woken by a drain) makes it run its handler again, in the same task (IRQTF_RUNTHREAD)', () => {
    const t = defaultTopology('vtd');
    const w = vtdWorld({ ...t, devices: t.devices.map((d) => (d.iommu === 0 ? { ...d, pri: true, ats: true } : d)) });
    const [dev0, dev1] = [w.world.devices[0]!, w.world.devices[1]!];
    expect(dev1.iommu).toBe(dev0.iommu);
    // Both bound to mm0 (one PASID), page 0 unmapped: dev0's DMA leaves a request queued.
    w.run(...populated(1), ...bindAll([0, 1]), { kind: 'munmap', mm: 0, first: 0, count: 1 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    const iommu = w.iommu(0);
    const pasid = w.world.mms[0]!.iommu_mm!.pasid;
    expect(iommu.unit.prq.pending.length).toBe(1);
    const DMA = preemptPoint('device dev1 issues dma');
    function* dma(): Co<unknown> {
      yield DMA;
      return dev1.hw.dma(pasid, userVpn(0), false);
    }
    // The drain wakes the thread and waits; the thread reads the tail (one request) and stops at
    // its first iopf_lock; there dev1's request arrives.
    let last: GroupPoint | undefined;
    let preempted = false;
    const policy: Policy = {
      pick(_at, current, runnable) {
        if (current < 0 && runnable.includes(2) && !preempted) return 2;
        if (!preempted && current === 2 && last?.what === 'mutex_lock(&iommu->iopf_lock)') {
          preempted = true;
          return 1;
        }
        return current >= 0 ? current : runnable[0]!;
      },
    };
    const run = runGroup(iommu.kernel, [
      { name: 'cpu0', kind: 'cpu', body: intel_iommu_drain_pasid_prq(dev0, pasid) },
      { name: 'dev1', kind: 'hw', body: dma() },
    ], policy, { record: true, onPoint: (p) => void (last = p) });
    expect(run.deadlock).toBeUndefined();
    expect(run.preemptions).toBe(1);
    // One PRQ thread; it took iopf_lock once per request: dev0's in its first pass, dev1's in the second.
    expect(run.tasks.filter((x) => x.kind === 'irq').map((x) => x.name)).toEqual(['irq/dmar0-prq']);
    const thread = run.trace!.filter((p) => p.task === 2).map((p) => p.what);
    expect(thread.filter((x) => x === 'mutex_lock(&iommu->iopf_lock)')).toHaveLength(2);
    const dmaAt = run.trace!.findIndex((p) => p.task === 1 && p.what === 'done');
    expect(run.trace!.slice(dmaAt + 1).some((p) => p.task === 2 && p.what === 'mutex_lock(&iommu->iopf_lock)')).toBe(true);
    expect(iommu.unit.prq.pending).toEqual([]);
    expect(iommu.prq_thread).toBeUndefined();
    expect(w.world.core.warnings).toEqual([]);
  });
});
