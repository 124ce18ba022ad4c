import { describe, expect, test } from 'vitest';
import { adoptAllocatedIds } from '../../src/harness/adoptIds.js';
import { defaultTopology } from '../../src/shared/index.js';
import { abstractView, cloneSpec, initSpec, type AbstractView, type SpecState } from '../../src/spec/index.js';
import { run } from '../spec/helpers.js';

/** SMMUv3: two mms bound (ASIDs 1 and 2), and HWPT 1 allocated by an attach (ASID 3). */
const bound = (): SpecState => {
  const s = initSpec(defaultTopology('smmuv3'));
  run(s, { kind: 'spawn', mm: 0 });
  run(s, { kind: 'spawn', mm: 1 });
  run(s, { kind: 'bind', dev: 0, mm: 0 });
  run(s, { kind: 'bind', dev: 0, mm: 1 });
  run(s, { kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 5 });
  return s;
};
const asidsOf = (v: AbstractView): (number | null)[] => v.domains.map((d) => d.asid);

describe('adoptAllocatedIds: a group may allocate other free IDs than the spec\'s lowest-free order', () => {
  test('takes a renaming of the IDs and makes it the spec\'s', () => {
    const s = bound();
    const v = abstractView(s);
    expect([asidsOf(v), v.asids]).toEqual([[1, 2], [1, 2, 3]]);
    // As a group can leave it: mm1's domain got ASID 4 while another member held 3 in passing.
    const kernel: AbstractView = { ...v, domains: v.domains.map((d, i) => (i === 1 ? { ...d, asid: 4 } : d)), asids: [1, 2, 4] };
    expect(adoptAllocatedIds(s, kernel)).toBe(true);
    expect(abstractView(s)).toEqual(kernel);
    // The spec now allocates from the kernel's IDs: the next is 3.
    run(s, { kind: 'spawn', mm: 2 });
    run(s, { kind: 'bind', dev: 0, mm: 2 });
    expect(abstractView(s).asids).toEqual([1, 2, 3, 4]);
  });

  test('renames the ASID a HWPT holds too, so that its destroy frees the kernel\'s ID', () => {
    const s = bound();
    const v = abstractView(s);
    // The group took ASID 1 for a bind that failed and gave it back: HWPT 1 has 4, not 3.
    const kernel: AbstractView = { ...v, asids: [1, 2, 4] };
    expect(adoptAllocatedIds(s, kernel)).toBe(true);
    expect(s.hwpts[1]!.asid).toBe(4);
    run(s, { kind: 'detachPasid', dev: 1, hwpt: 1 });
    run(s, { kind: 'destroyHwpt', hwpt: 1 });
    expect(abstractView(s).asids).toEqual([1, 2]);
  });

  test('refuses two domains on one ID, a different count, and any other difference, leaving the spec as it was', () => {
    const s = bound();
    const v = abstractView(s);
    const before = cloneSpec(s);
    const refused: AbstractView[] = [
      { ...v, domains: v.domains.map((d) => ({ ...d, asid: 1 })) },
      { ...v, asids: [1, 2] },
      { ...v, domains: v.domains.map((d, i) => (i === 1 ? { ...d, asid: 4, users: 2 } : d)), asids: [1, 3, 4] },
    ];
    for (const kernel of refused) {
      expect(adoptAllocatedIds(s, kernel)).toBe(false);
      expect(abstractView(s)).toEqual(abstractView(before));
    }
  });
});
