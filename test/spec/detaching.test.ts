import { describe, expect, test } from 'vitest';
import { initSpec, linPoints, specPoint, specStep } from '../../src/spec/index.js';
import { bind, dma, run, spawn, topo } from './helpers.js';

describe('an SVA detach seen while it runs (spec/detaching.ts)', () => {
  test('in a group, an unbind tears the entries down before the handle goes: a serviceFaults pass between handles the fault, and the retry fails', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, bind(0, 0));
    // The miss sends a page request.
    expect(run(s, dma(0, 0, 0, true))).toEqual({ ok: true });
    const u = { kind: 'unbind', dev: 0, mm: 0 } as const;
    expect([linPoints(s, u), linPoints(s, u, 2)]).toEqual([1, 3]);
    expect(specPoint(s, u, 0, 3)).toBeUndefined();
    expect(specPoint(s, u, 1, 3)).toBeUndefined();
    // The entry is gone, the handle is not: an access faults, the queued request is still handled.
    expect(specStep(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
    expect(specStep(s, { kind: 'serviceFaults' })).toEqual({ ok: true, value: 1 });
    expect(s.retired).toEqual([expect.objectContaining({ dev: 0, page: 0, ok: false })]);
    expect(specPoint(s, u, 2, 3)).toEqual({ ok: true });
    expect(s.detaching).toEqual([]);
  });

  test('in a group, a PRI device its last unbind has stopped sends no page-request group at the PASID until the unbind returns', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    const u = { kind: 'unbind', dev: 0, mm: 0 } as const;
    const prg = { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: false, last: true } as const;
    expect(specPoint(s, u, 0, 3)).toBeUndefined();
    expect(specStep(s, prg)).toEqual({ ok: false, errno: 'EFAULT', fault: 'device stopped' });
    expect(s.outstanding[0]).toBe(0);
    expect(specPoint(s, u, 1, 3)).toBeUndefined();
    expect(specStep(s, prg)).toMatchObject({ fault: 'device stopped' });
    expect(specPoint(s, u, 2, 3)).toEqual({ ok: true });
    expect(s.stopping).toEqual([]);
    // Unbound now: as any device not bound to the mm, it may send a whole group at the PASID.
    expect(specStep(s, prg)).toEqual({ ok: true });
  });

  test('in a group, a LAST the full PRQ drops inside an unbind\'s teardown window is answered Success by VT-d, and its retry fails', () => {
    // dev1 shares dev0's group and is not bound itself: not stopped by dev0's unbind, it may send at the PASID.
    const s = initSpec(topo('vtd', [{ prqSize: 1 }], [[0, { group: 0, pri: true }], [0, { group: 0, pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    run(s, bind(0, 0));
    const prg = (page: number) => ({ kind: 'prg', dev: 1, mm: 0, page, count: 1, write: false, rid: false, last: true }) as const;
    expect(run(s, prg(1))).toEqual({ ok: true });
    const u = { kind: 'unbind', dev: 0, mm: 0 } as const;
    expect(specPoint(s, u, 0, 3)).toBeUndefined();
    expect(specPoint(s, u, 1, 3)).toBeUndefined();
    // The PRQ is full: the LAST is dropped and answered Success at once; the entry is torn down, so the retry fails.
    expect(specStep(s, prg(0))).toEqual({ ok: true });
    expect(s.retired).toEqual([expect.objectContaining({ dev: 1, page: 0, ok: false })]);
  });

  test('in a group where two members access from two devices of the unbind\'s group, each device\'s entry goes at a point of its own', () => {
    // vtd --fix all --groups 0.5 --seed 7, run 55: dev0's DMA found no PASID entry, then dev1's still walked its entry.
    const s = initSpec(topo('vtd', [{}], [[0, { group: 0 }], [0, { group: 0 }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    run(s, bind(1, 0));
    const u = { kind: 'unbind', dev: 1, mm: 0 } as const;
    const group = [u, dma(0, 0, 0, false), dma(1, 0, 0, false)];
    // One access alone shows nothing an order does not: stop, teardown, rest.
    expect([linPoints(s, u, 2, group.slice(0, 2)), linPoints(s, u, 3, group)]).toEqual([3, 4]);
    expect(specPoint(s, u, 0, 4)).toBeUndefined();
    expect(specPoint(s, u, 1, 4)).toBeUndefined();
    expect(specStep(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
    expect(specStep(s, dma(1, 0, 0, false))).toMatchObject({ ok: true });
    expect(specPoint(s, u, 2, 4)).toBeUndefined();
    expect(specStep(s, dma(1, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
    expect(specPoint(s, u, 3, 4)).toEqual({ ok: true });
    expect(s.detaching).toEqual([]);
  });

  test('alone, the same serviceFaults before the unbind retries into the page', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, bind(0, 0));
    run(s, dma(0, 0, 0, true));
    expect(run(s, { kind: 'serviceFaults' })).toEqual({ ok: true, value: 1 });
    expect(s.retired).toEqual([expect.objectContaining({ dev: 0, page: 0, ok: true })]);
  });
});
