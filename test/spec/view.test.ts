import { describe, expect, test } from 'vitest';
import { defaultTopology, userToken } from '../../src/shared/index.js';
import { abstractView, diffViews, initSpec } from '../../src/spec/index.js';
import { bind, run, spawn } from './helpers.js';

describe('abstractView', () => {
  test('is plain sorted JSON data naming every abstract fact', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(1));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 1, first: 2, count: 2, prot: 'rw' });
    run(s, { kind: 'touch', mm: 1, page: 3, write: true });
    run(s, bind(2, 1));
    run(s, bind(0, 1));
    run(s, bind(0, 0));
    run(s, { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
    const v = abstractView(s);
    expect(JSON.parse(JSON.stringify(v))).toEqual(v);
    expect(v.slots[1]).toEqual({
      slot: 1, state: 'live', gen: 1, pasid: 1, pendingNotifiers: 0,
      pages: [{ page: 2, vma: 'rw', pte: null, token: null, exclusive: null }, { page: 3, vma: 'rw', pte: 'rw', token: userToken(1, 3, 1), exclusive: true }],
    });
    expect(v.domains).toEqual([
      { mm: 0, groups: [0], iommus: [0], users: 1, asid: 3 },
      { mm: 1, groups: [0], iommus: [0], users: 1, asid: 2 },
      { mm: 1, groups: [2], iommus: [1], users: 1, asid: 1 },
    ]);
    expect(v.handles.map((h) => [h.mm, h.group])).toEqual([[0, 0], [1, 0], [1, 2]]);
    expect(v.bonds.map((b) => [b.dev, b.mm])).toEqual([[0, 0], [0, 1], [2, 1]]);
    expect(v.pasids).toEqual([1, 2]);
    expect(v.asids).toEqual([1, 2, 3]);
    expect(v.failArmed).toBe('kzalloc@iommu_sva_bind_device');
  });

  test('diffViews names the paths that differ and nothing when equal', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    const a = abstractView(s);
    expect(diffViews(a, abstractView(s))).toEqual([]);
    run(s, bind(0, 0));
    const diff = diffViews(a, abstractView(s));
    expect(diff).toContain('view.slots[0].pasid: null expected, 1 actual');
    expect(diff).toContain('view.pasids: length 0 expected, 1 actual');
  });
});
