import { describe, expect, test } from 'vitest';
import { initSpec, linPoints, specPoint, specStep } from '../../src/spec/index.js';
import { bind, dma, run, spawn, topo } from './helpers.js';

describe('an mm exit seen while its release runs (spec/releasing.ts)', () => {
  const setup = () => {
    const s = initSpec(topo('vtd', [{}], [[0, {}], [0, {}]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    run(s, bind(0, 0));
    run(s, bind(1, 0));
    return s;
  };
  const exit = { kind: 'exit', mm: 0 } as const;

  test('in a group, an exit of a bound mm has two points; between them each device finds itself released or not, and stays released', () => {
    const s = setup();
    expect([linPoints(s, exit), linPoints(s, exit, 2)]).toEqual([1, 2]);
    expect(specPoint(s, exit, 0, 2)).toBeUndefined();
    const token = s.slots[0]!.token[0]!;
    // dev0 not released yet: the page is still mapped and translates.
    expect(specStep(s, dma(0, 0, 0, false))).toEqual({ ok: true, value: token });
    // dev1 released by the linearization's choice; dev0 still not.
    s.releaseSeen = true;
    expect(specStep(s, dma(1, 0, 0, false))).toMatchObject({ ok: false, fault: 'mm exited' });
    s.releaseSeen = false;
    expect(specStep(s, dma(1, 0, 0, false))).toMatchObject({ ok: false, fault: 'mm exited' });
    expect(specStep(s, dma(0, 0, 0, false))).toEqual({ ok: true, value: token });
    expect(specPoint(s, exit, 1, 2)).toEqual({ ok: true });
    expect(s.releasing).toEqual([]);
    expect(specStep(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'mm exited' });
  });

  test('an exit no device is bound to has one point, and alone the exit is one step', () => {
    const s = initSpec(topo('vtd', [{}], [[0, {}]]));
    run(s, spawn(0));
    expect(linPoints(s, exit, 2)).toBe(1);
    const b = setup();
    expect(run(b, exit)).toEqual({ ok: true });
    expect(b.releasing).toEqual([]);
    expect(specStep(b, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'mm exited' });
  });
});
