import { describe, expect, test } from 'vitest';
import type { SpecState } from '../../src/spec/index.js';
import { ALL_THREAD_POINTS, beginRestall, cloneSpec, initSpec, linPoints, restallPossible, serviceThreadPoints, specPoint, specStep } from '../../src/spec/index.js';
import { beginAttaching } from '../../src/spec/attaching.js';
import { bind, dma, run, spawn, topo, unbind } from './helpers.js';

const SERVICE = { kind: 'serviceFaults' } as const;

/** A bound PRI device with two page requests queued, one group each (pages 0 and 1 missing). */
const twoQueued = (): SpecState => {
  const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
  run(s, spawn(0));
  run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
  run(s, bind(0, 0));
  expect(run(s, dma(0, 0, 0, false))).toEqual({ ok: true });
  expect(run(s, dma(0, 0, 1, false))).toEqual({ ok: true });
  return s;
};

const IDLE = { iommu: 1, phase: 'wake', early: 0, earlyLeft: 0, pick: 0, taken: 0, pending: [], unanswered: [], item: undefined, itemAt: 0, held: -1, heldCount: 0, points: ALL_THREAD_POINTS };

describe('serviceFaults in a group: the fault thread\'s points (VT-d: wake, read, PQH write, loop end), then one fault of an IOPF work item per point (spec/pri.ts servicePoint)', () => {
  test('it has four points per VT-d IOMMU, a point per queued group and one per member; alone, one', () => {
    const s = twoQueued();
    expect([linPoints(s, SERVICE), linPoints(s, SERVICE, 2), linPoints(s, SERVICE, 3)]).toEqual([1, 8, 9]);
  });

  test('its points back to back are the sequential command: the same answers, in the same order', () => {
    const a = twoQueued();
    const b = cloneSpec(a);
    expect(specStep(a, SERVICE)).toEqual({ ok: true, value: 2 });
    const values = [0, 1, 2, 3, 4, 5, 6, 7].map((p) => specPoint(b, SERVICE, p, 8));
    expect(values).toEqual([0, 0, 0, 0, 1, 1, 0, 0].map((value) => ({ ok: true, value })));
    expect(b.waiting).toEqual(a.waiting);
    expect(b.slots[0]!.pte).toEqual(a.slots[0]!.pte);
    expect(b.servicing).toEqual(IDLE);
  });

  test('an exit between two work items: the first group is answered Success, the second finds the mm gone', () => {
    // The kernel's IOPF workqueue is unbound: kworker 1 runs, the exit runs, kworker 2 runs.
    const s = twoQueued();
    expect([0, 1, 2, 3, 4].map((p) => specPoint(s, SERVICE, p, 8))).toEqual([0, 0, 0, 0, 1].map((value) => ({ ok: true, value })));
    expect(s.servicing.pending).toHaveLength(1);
    run(s, { kind: 'exit', mm: 0 });
    expect(specPoint(s, SERVICE, 5, 8)).toEqual({ ok: true, value: 0 });
    // Atomically either order answers both groups the same way: 2 or 0, never 1.
    const before = twoQueued();
    const after = twoQueued();
    run(after, { kind: 'exit', mm: 0 });
    expect([specStep(before, SERVICE), specStep(after, SERVICE)]).toEqual([{ ok: true, value: 2 }, { ok: true, value: 0 }]);
  });

  test('a work item takes the mmap lock per fault: a munmap between two faults of one group leaves the first populated and the group answered Invalid', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
    run(s, bind(0, 0));
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: true, rid: false, last: true });
    const group = [SERVICE, { kind: 'munmap', mm: 0, first: 0, count: 2 }] as const;
    const points = linPoints(s, SERVICE, 2, group);
    // The thread's read and loop end as one point (no member names a device behind it), one
    // per queued request; the oracle sets the threads' points as it counted them.
    expect(points).toBe(1 + 2);
    const th = serviceThreadPoints(s, group);
    s.servicing.points = th;
    expect(specPoint(s, SERVICE, 0, points)).toEqual({ ok: true, value: 0 });
    // The group's first fault.
    expect(specPoint(s, SERVICE, 1, points)).toEqual({ ok: true, value: 0 });
    expect(s.slots[0]!.popGen[0]).toBe(1);
    run(s, { kind: 'munmap', mm: 0, first: 0, count: 2 });
    expect(specPoint(s, SERVICE, 2, points)).toEqual({ ok: true, value: 0 });
    expect(s.retired).toEqual([expect.objectContaining({ page: 0, ok: false }), expect.objectContaining({ page: 1, ok: false })]);
    expect(s.slots[0]!.popGen[1]).toBe(0);
    expect(s.servicing).toEqual({ ...IDLE, points: th, phase: 'read' });
  });

  test('the workqueue is unordered: with pick 1 the newer group runs first, and a munmap after it fails only the older', () => {
    const s = twoQueued();
    const group = [SERVICE, { kind: 'munmap', mm: 0, first: 0, count: 2 }] as const;
    const points = linPoints(s, SERVICE, 2, group);
    s.servicing.points = serviceThreadPoints(s, group);
    s.servicing.pick = 1;
    // The thread's points come first; the first work point then takes page 1's group.
    let p = 0;
    while (s.retired.length === 0 && p < points) specPoint(s, SERVICE, p++, points);
    expect(s.retired).toEqual([expect.objectContaining({ page: 1, ok: true })]);
    run(s, { kind: 'munmap', mm: 0, first: 0, count: 2 });
    s.retired.length = 0;
    while (p < points) specPoint(s, SERVICE, p++, points);
    expect(s.retired).toEqual([expect.objectContaining({ page: 0, ok: false })]);
    // Queue order (pick 0) answers page 0 first.
    const q = twoQueued();
    q.servicing.points = serviceThreadPoints(q, group);
    for (let k = 0; q.retired.length === 0; k++) specPoint(q, SERVICE, k, points);
    expect(q.retired).toEqual([expect.objectContaining({ page: 0, ok: true })]);
  });

  test('the final point finishes the pass under way, so nothing is left pending', () => {
    const s = twoQueued();
    expect(specPoint(s, SERVICE, 0, 2)).toEqual({ ok: true, value: 0 });
    expect(specPoint(s, SERVICE, 1, 2)).toEqual({ ok: true, value: 2 });
    expect(s.servicing).toEqual(IDLE);
    expect(s.waiting).toEqual([]);
  });

  test('one pass: a request sent after the thread\'s loop ended waits for the next serviceFaults; one sent before its end is taken', () => {
    const oneQueued = (): SpecState => {
      const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
      run(s, spawn(0));
      run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
      run(s, bind(0, 0));
      expect(run(s, dma(0, 0, 0, false))).toEqual({ ok: true });
      return s;
    };
    const late = dma(0, 0, 1, false);
    const sum = (s: SpecState, points: readonly number[]): number => points.reduce((n, p) => n + (specPoint(s, SERVICE, p, 7) as { value: number }).value, 0);
    const after = oneQueued();
    expect(sum(after, [0, 1, 2, 3])).toBe(0);
    expect(run(after, late)).toEqual({ ok: true });
    expect(sum(after, [4, 5, 6])).toBe(1);
    expect(after.prq).toHaveLength(1);
    // Sent after the read, or after the first pass's PQH write: the end of the loop takes it.
    for (const upTo of [[0, 1], [0, 1, 2]]) {
      const before = oneQueued();
      expect(sum(before, upTo)).toBe(0);
      expect(run(before, late)).toEqual({ ok: true });
      expect(sum(before, [2, 3, 4, 5, 6].filter((p) => p > upTo.at(-1)!))).toBe(2);
      expect(before.prq).toHaveLength(0);
    }
  });

  test('early work items: with early = 1 the first group is answered before the thread\'s loop ends, which takes a request its answer made room for', () => {
    const s = twoQueued();
    s.servicing.early = 1;
    expect(specPoint(s, SERVICE, 0, 8)).toEqual({ ok: true, value: 0 });
    expect(specPoint(s, SERVICE, 1, 8)).toEqual({ ok: true, value: 0 });
    expect(specPoint(s, SERVICE, 2, 8)).toEqual({ ok: true, value: 1 });
    expect(s.servicing.phase).toBe('early');
    run(s, { kind: 'mmap', mm: 0, first: 2, count: 1, prot: 'rw' });
    expect(run(s, dma(0, 0, 2, false))).toEqual({ ok: true });
    expect([3, 4, 5, 6, 7].reduce((n, p) => n + ((specPoint(s, SERVICE, p, 8) as { value: number }).value), 0)).toBe(2);
    expect(s.prq).toHaveLength(0);
    expect(s.waiting).toEqual([]);
  });
});

describe('VT-d: the fault thread frees its PRQ slots only after its loop (prq_event_thread writes PQH once)', () => {
  test('a request sent between the thread\'s report and its release finds the PRQ full: dropped, its LAST answered Success by the unit, and the overflow cleared at the release', () => {
    const s = initSpec(topo('vtd', [{ prqSize: 2 }], [[0, { pri: true }]]));
    run(s, spawn(0));
    // Two requests on the RID fill the queue and take both credits.
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true });
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 1, count: 1, write: true, rid: true, last: true });
    run(s, bind(0, 0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'r' });
    const cmd = { kind: 'prg', dev: 0, mm: 0, page: 1, count: 1, write: false, rid: false, last: true } as const;
    expect(linPoints(s, SERVICE, 2)).toBe(8);
    // Woken, then the thread answers both (no handler on the RID: Invalid) and returns the credits; the slots stay taken.
    expect(specPoint(s, SERVICE, 0, 8)).toEqual({ ok: true, value: 0 });
    expect(specPoint(s, SERVICE, 1, 8)).toEqual({ ok: true, value: 0 });
    expect([s.outstanding[0], s.prq.length, s.servicing.held, s.servicing.heldCount]).toEqual([0, 0, 0, 2]);
    expect(run(s, cmd)).toEqual({ ok: true });
    expect([s.outstanding[0], s.prq.length, s.prqOverflow[0]]).toEqual([0, 0, 1]);
    // The first pass's PQH write frees the slots and clears the overflow.
    expect(specPoint(s, SERVICE, 2, 8)).toEqual({ ok: true, value: 0 });
    expect([s.prqOverflow[0], s.servicing.held]).toEqual([0, -1]);
  });
});

describe('VT-d: a PASID drain beside a woken PRQ thread (intel_iommu_drain_pasid_prq scans for its own requests)', () => {
  /** dev0 (PRI) bound to mm0, with a request on its RID queued; a serviceFaults has woken the thread. */
  const woken = (): SpecState => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true });
    run(s, bind(0, 0));
    expect(specPoint(s, SERVICE, 0, 8)).toEqual({ ok: true, value: 0 });
    expect(s.servicing.phase).toBe('read');
    return s;
  };

  test('no request of the drained PASID queued: the unbind\'s drain waits for nothing and the RID request stays for the woken thread', () => {
    const s = woken();
    run(s, { kind: 'unbind', dev: 0, mm: 0 });
    expect([s.prq.length, s.outstanding[0]]).toEqual([1, 1]);
    expect(specPoint(s, SERVICE, 1, 8)).toEqual({ ok: true, value: 0 });
    expect([s.prq.length, s.outstanding[0]]).toEqual([0, 0]);
  });

  test('one of its own queued: the drain waits for the thread, which takes the whole queue', () => {
    const s = woken();
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    expect(run(s, dma(0, 0, 0, false))).toEqual({ ok: true });
    run(s, { kind: 'unbind', dev: 0, mm: 0 });
    expect([s.prq.length, s.outstanding[0]]).toEqual([0, 0]);
  });
});

describe('SMMUv3: a resumed stall that may stall again (spec/pri.ts restalls)', () => {
  /** A stall master bound to mm0, page 0 read-only present, a write to it stalled. */
  const stalledWrite = (): SpecState => {
    const s = initSpec(topo('smmuv3', [{}], [[0, { pri: true, ats: false }]], 1));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    run(s, bind(0, 0));
    expect(run(s, dma(0, 0, 0, true))).toEqual({ ok: true });
    return s;
  };

  test('with the choice made, the write to a page upgraded from read-only in the group stalls again and the next pass retires it', () => {
    const s = stalledWrite();
    expect(restallPossible(s, [SERVICE, dma(0, 0, 0, true)])).toBe(true);
    beginRestall(s, 1);
    expect(specStep(s, SERVICE)).toEqual({ ok: true, value: 1 });
    expect(s.retired).toEqual([]);
    expect(s.prq).toHaveLength(1);
    expect(s.outstanding[0]).toBe(1);
    beginRestall(s, 0);
    expect(specStep(s, SERVICE)).toEqual({ ok: true, value: 1 });
    expect(s.retired).toEqual([expect.objectContaining({ dev: 0, page: 0, write: true, ok: true })]);
    expect(s.outstanding[0]).toBe(0);
  });

  test('without the choice, or for a page that was writable before the group, the retry completes', () => {
    for (const mask of [0, 1]) {
      const s = stalledWrite();
      if (mask === 1) run(s, { kind: 'touch', mm: 0, page: 0, write: true });
      beginRestall(s, mask);
      specStep(s, SERVICE);
      expect(s.retired.map((r) => r.ok)).toEqual([true]);
    }
  });

  test('only on SMMUv3, beside a serviceFaults', () => {
    const s = stalledWrite();
    expect(restallPossible(s, [dma(0, 0, 0, true), dma(0, 0, 0, true)])).toBe(false);
    const v = initSpec(topo('vtd', [{}], [[0, { pri: true }]], 1));
    run(v, spawn(0));
    run(v, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(v, { kind: 'touch', mm: 0, page: 0, write: false });
    expect(restallPossible(v, [SERVICE, dma(0, 0, 0, true)])).toBe(false);
  });
});

describe('serviceFaults in a group: a fault thread the group cannot meet has no points (points.ts serviceThreadPoints)', () => {
  test('with a request queued behind IOMMU 0 only and no member naming a device, IOMMU 1\'s pass runs inside a point of IOMMU 0\'s', () => {
    const s = initSpec(topo('vtd', [{}, {}], [[0, { pri: true }], [1, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, bind(0, 0));
    run(s, dma(0, 0, 0, false));
    const group = [SERVICE, { kind: 'touch', mm: 0, page: 0, write: false }] as const;
    const points = linPoints(s, SERVICE, 2, group);
    // IOMMU 0's read and loop end as one point, one per queued request (a touch sends none).
    expect(points).toBe(1 + 1);
    const whole = cloneSpec(s);
    s.servicing.points = serviceThreadPoints(s, group);
    expect(s.servicing.points.threads).toBe(1);
    const values = Array.from({ length: points }, (_, p) => specPoint(s, SERVICE, p, points));
    expect(values).toEqual([0, 1].map((value) => ({ ok: true, value })));
    expect(specStep(whole, SERVICE)).toEqual({ ok: true, value: 1 });
    expect(s.waiting).toEqual(whole.waiting);
    expect(s.servicing.pending).toEqual([]);
  });
});

describe('VT-d: the answers the fault thread makes itself reach the device at a point of their own (points.ts serviceThreadPoints answers)', () => {
  test('a request with no handler queued behind a member\'s device: decided at the read, its credit back only at the answer point', () => {
    const s = initSpec(topo('vtd', [{ prqSize: 4 }], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true });
    const group = [SERVICE, { kind: 'prg', dev: 0, mm: 0, page: 1, count: 1, write: false, rid: true, last: true }] as const;
    const th = serviceThreadPoints(s, group);
    expect(th.answers).toBe(1);
    // Read, answer, PQH write, loop end; one work point for the member's request, one for the queued one.
    const points = linPoints(s, SERVICE, 2, group);
    expect(points).toBe(4 + 1 + 1);
    s.servicing.points = th;
    expect(specPoint(s, SERVICE, 0, points)).toEqual({ ok: true, value: 0 });
    expect([s.prq.length, s.outstanding[0], s.servicing.unanswered.length]).toEqual([0, 1, 1]);
    expect(specPoint(s, SERVICE, 1, points)).toEqual({ ok: true, value: 0 });
    expect([s.outstanding[0], s.servicing.unanswered.length]).toEqual([0, 0]);
    // Without a member behind the IOMMU, the read answers at once (one point: read and loop end).
    const alone = initSpec(topo('vtd', [{ prqSize: 4 }], [[0, { pri: true }]]));
    run(alone, spawn(0));
    run(alone, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true });
    expect(serviceThreadPoints(alone, [SERVICE, { kind: 'touch', mm: 0, page: 0, write: false }]).answers).toBe(0);
  });
});

describe('A request that waited in the queue while its PASID went to another mm', () => {
  // The kernel looks the handler up by PASID number when the fault thread reports the request
  // (iommu_report_device_fault), not by the mm the device meant: found by the clean VT-d run
  // (bench:faults, seed 1729 with groups), where the spec answered Invalid and the kernel handled
  // it against the new owner, whose iopf_group_alloc took an armed injection.
  const t = topo('vtd', [{}], [[0, { pri: true }]]);
  const queuedThenReused = (): SpecState => {
    const s = initSpec(t);
    run(s, spawn(0));
    run(s, spawn(1));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    expect(run(s, bind(0, 1))).toEqual({ ok: true, value: 1 });
    run(s, { kind: 'unbind', dev: 0, mm: 1 });
    // The unbound device still sends a whole group at mm1's PASID; no fault thread runs yet.
    expect(run(s, { kind: 'prg', dev: 0, mm: 1, page: 0, count: 1, write: false, rid: false, last: true })).toEqual({ ok: true });
    run(s, { kind: 'exit', mm: 1 });
    run(s, { kind: 'gracePeriod' });
    run(s, { kind: 'mmdrop', mm: 1 });
    // PASID 1 is free again: mm0's first bind takes it.
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
    return s;
  };

  test('is mm0\'s fault: its page is faulted in and the group answered Success', () => {
    const s = queuedThenReused();
    expect(s.slots[0]!.pte[0]).toBe(0);
    expect(run(s, SERVICE)).toEqual({ ok: true, value: 1 });
    expect(s.slots[0]!.pte[0]).not.toBe(0);
  });

  test('and mm0\'s handler is where an armed iopf_group_alloc failure is taken', () => {
    const s = queuedThenReused();
    run(s, { kind: 'failNext', site: 'kzalloc@iopf_group_alloc' });
    // As the checked step does when the kernel reports the injection it made.
    s.injected = 'kzalloc@iopf_group_alloc';
    expect(run(s, SERVICE)).toEqual({ ok: true, value: 0 });
    expect(s.failArmed).toBeUndefined();
    expect(s.priFailed[0]).toBe(1);
  });
});

describe('VT-d: a LAST dropped by a full PRQ is answered Success by the unit, whatever handles the PASID', () => {
  /** dev0 (PRI) with mm0's page 0 present and mm0's PASID kept after an unbind; the PRQ (2 slots) full of dev1's RID requests. */
  const full = (): SpecState => {
    const s = initSpec(topo('vtd', [{ prqSize: 2 }], [[0, { pri: true }], [0, { pri: true }]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    run(s, unbind(0, 0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    run(s, { kind: 'prg', dev: 1, mm: 0, page: 0, count: 1, write: false, rid: true, last: true });
    run(s, { kind: 'prg', dev: 1, mm: 0, page: 0, count: 1, write: true, rid: true, last: true });
    expect([s.prq.length, s.slots[0]!.pasid.ctx.pasid]).toEqual([2, 1]);
    return s;
  };
  const third = { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: false, last: true } as const;

  test('with no handle and no attempt at the PASID the retry fails', () => {
    const s = full();
    expect(specStep(s, third)).toEqual({ ok: true });
    expect(s.retired).toEqual([{ dev: 0, slot: 0, page: 0, write: false, ok: false, token: -1 }]);
  });

  test('inside a concurrent bind\'s attempt set up on the device the retry walks that entry and reads the page (vtd run --seed 42, run 220)', () => {
    const s = full();
    beginAttaching(s, 0, 0, [0]);
    expect(specStep(s, third)).toEqual({ ok: true });
    expect(s.retired).toEqual([{ dev: 0, slot: 0, page: 0, write: false, ok: true, token: s.slots[0]!.token[0] }]);
  });
});

describe('a VT-d unbind in a group with a request sender on its IOMMU: the PRQ drain\'s thread as points of its own (bind.ts unbindDrainRead, pri.ts drainRead)', () => {
  /** A bound PRI device whose two credits two RID requests hold, queued. */
  const ridQueued = (): SpecState => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    for (const page of [0, 1]) expect(run(s, { ...ridPrg, page })).toEqual({ ok: true });
    expect(s.outstanding[0]).toBe(2);
    return s;
  };
  const ridPrg = { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true } as const;
  const u = unbind(0, 0);

  test('five points beside a request sender on its IOMMU, three beside anything else or beside serviceFaults', () => {
    const s = ridQueued();
    expect(linPoints(s, u, 2, [u, ridPrg])).toBe(5);
    expect(linPoints(s, u, 2, [u, { kind: 'gracePeriod' }])).toBe(3);
    expect(linPoints(s, u, 3, [u, ridPrg, SERVICE])).toBe(3);
    expect(linPoints(s, u)).toBe(1);
  });

  test('a request sent after the first pass answered the queued ones finds a credit, and the re-run answers it before the unbind returns', () => {
    const s = ridQueued();
    expect(specPoint(s, u, 0, 5)).toBeUndefined();
    expect(specPoint(s, u, 1, 5)).toBeUndefined();
    expect(specPoint(s, u, 2, 5)).toBeUndefined();
    // The thread's own Invalid answers have given both credits back.
    expect(s.outstanding[0]).toBe(0);
    expect(specStep(s, ridPrg)).toEqual({ ok: true });
    expect(specPoint(s, u, 3, 5)).toBeUndefined();
    expect(specPoint(s, u, 4, 5)).toEqual({ ok: true });
    expect([s.outstanding[0], s.prq.length, s.draining, s.servicing.held, s.servicing.pending.length]).toEqual([0, 0, -1, -1, 0]);
  });

  test('the points back to back are the atomic drain: a request after them stays queued, one before finds no credit', () => {
    const after = ridQueued();
    for (let p = 0; p < 5; p++) specPoint(after, u, p, 5);
    expect(specStep(after, ridPrg)).toEqual({ ok: true });
    expect(after.outstanding[0]).toBe(1);
    const atomic = ridQueued();
    specStep(atomic, u);
    expect(specStep(atomic, ridPrg)).toEqual({ ok: true });
    expect(atomic.outstanding).toEqual(after.outstanding);
    expect(atomic.prq).toEqual(after.prq);
    const before = ridQueued();
    expect(specStep(before, ridPrg)).toMatchObject({ ok: false, fault: 'no PRI credit' });
  });
});

describe('a VT-d replace in a group with a request sender on its IOMMU: its old entry\'s PRQ drain as points of its own (paging.ts replaceDrainRead)', () => {
  /** A bound PRI device (IOPF on) with a HWPT at PASID 8 and two RID requests holding both its credits. */
  const ridQueued = (): SpecState => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    run(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 8 });
    for (const page of [0, 1]) expect(run(s, { ...ridPrg, page })).toEqual({ ok: true });
    expect(s.outstanding[0]).toBe(2);
    return s;
  };
  const ridPrg = { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: true, last: true } as const;
  const r = { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 } as const;

  test('four points of its own beside a request sender on its IOMMU (five with the allocation), two beside anything else', () => {
    const s = ridQueued();
    expect(linPoints(s, r, 2, [r, ridPrg])).toBe(5);
    expect(linPoints(s, r, 2, [r, { kind: 'gracePeriod' }])).toBe(3);
    expect(linPoints(s, r, 3, [r, ridPrg, SERVICE])).toBe(3);
    expect(linPoints(s, r)).toBe(2);
  });

  test('a request sent after the first pass finds a credit, and the re-run answers it before the new entry is set up', () => {
    const s = ridQueued();
    for (let p = 0; p < 3; p++) expect(specPoint(s, r, p, 5)).toBeUndefined();
    expect(s.outstanding[0]).toBe(0);
    expect(s.replaceDraining).toBe(0);
    expect(specStep(s, ridPrg)).toEqual({ ok: true });
    expect(specPoint(s, r, 3, 5)).toBeUndefined();
    expect(specPoint(s, r, 4, 5)).toEqual({ ok: true });
    expect([s.outstanding[0], s.prq.length, s.replaceDraining, s.hwpts[0]!.pasid[0]]).toEqual([0, 0, -1, 8]);
  });

  test('the points back to back are the atomic replace', () => {
    const split = ridQueued();
    for (let p = 0; p < 5; p++) specPoint(split, r, p, 5);
    const atomic = ridQueued();
    specStep(atomic, r);
    expect([split.outstanding, split.prq, split.hwpts]).toEqual([atomic.outstanding, atomic.prq, atomic.hwpts]);
  });
});
