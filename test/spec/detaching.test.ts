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
