import { describe, expect, test } from 'vitest';
import { precondition } from '../../src/spec/index.js';
import type { Command } from '../../src/shared/index.js';
import { initSpec } from '../../src/spec/index.js';
import { run, topo } from './helpers.js';

const prg = (last: boolean): Command => ({ kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: false, last });
const stop: Command = { kind: 'stopMarker', dev: 0, mm: 0 };

/** dev0 a VT-d PRI endpoint bound to mm0 (page 0 mapped), its IOMMU's PRQ `prqSize` entries. */
const bound = (prqSize?: number) => {
  const s = initSpec(topo('vtd', [prqSize === undefined ? {} : { prqSize }], [[0, { pri: true }]], 1));
  run(s, { kind: 'spawn', mm: 0 });
  run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
  run(s, { kind: 'bind', dev: 0, mm: 0 });
  return s;
};

describe('stopMarker: the spec of a PASID stopped with a Stop Marker', () => {
  test('the marker is queued without a credit; the thread drops it unanswered', () => {
    const s = bound();
    expect(run(s, stop)).toEqual({ ok: true });
    expect(s.prq.map((r) => r.stop)).toEqual([true]);
    expect(s.outstanding[0]).toBe(0);
    expect(run(s, { kind: 'serviceFaults' })).toEqual({ ok: true, value: 0 });
    expect(s.prq).toEqual([]);
    expect(s.retired).toEqual([]);
  });

  test('a group sent before it is handled and answered, and its retry does not happen (stale)', () => {
    const s = bound();
    run(s, prg(true));
    run(s, stop);
    expect(s.waiting.map((w) => w.stale)).toEqual([true]);
    expect(run(s, { kind: 'serviceFaults' })).toEqual({ ok: true, value: 1 });
    expect(s.retired.map((r) => r.ok)).toEqual([false]);
    expect(s.outstanding[0]).toBe(0);
  });

  test('a full PRQ drops it silently: no overflow', () => {
    const s = bound(1);
    run(s, prg(true));
    run(s, stop);
    expect(s.prq.map((r) => r.stop === true)).toEqual([false]);
    expect(s.prqOverflow[0]).toBe(0);
  });

  test('legal only for a VT-d PRI device with a bond whose groups are finished', () => {
    const s = bound();
    run(s, prg(false));
    expect(precondition(s, stop)).toBe(false);
    run(s, prg(true));
    expect(precondition(s, stop)).toBe(true);
    expect(precondition(s, { kind: 'stopMarker', dev: 0, mm: 1 })).toBe(false);
    const noPri = initSpec(topo('vtd', [{}], [[0, {}]], 1));
    run(noPri, { kind: 'spawn', mm: 0 });
    run(noPri, { kind: 'bind', dev: 0, mm: 0 });
    expect(precondition(noPri, stop)).toBe(false);
    const smmu = initSpec(topo('smmuv3', [{}], [[0, { pri: true }]], 1));
    run(smmu, { kind: 'spawn', mm: 0 });
    run(smmu, { kind: 'bind', dev: 0, mm: 0 });
    expect(precondition(smmu, stop)).toBe(false);
  });
});
