import { describe, expect, test } from 'vitest';
import { diffJson, naturalCompare } from '../../src/trace/index.js';

describe('structural diff', () => {
  test('Changed, added and removed leaves are listed by path in natural key order', () => {
    const before = { mm10: { pasid: 1 }, mm2: { pasid: 3, vmas: [{ first: 0, count: 2 }] }, bonds: ['d0'] };
    const after = { mm10: { pasid: 1 }, mm2: { vmas: [{ first: 0, count: 1 }, { first: 3, count: 1 }] }, bonds: [], 'odd key': true };
    expect(diffJson(before, after)).toEqual([
      'bonds[0]: "d0" → undefined',
      'mm2.pasid: 3 → undefined',
      'mm2.vmas[0].count: 2 → 1',
      'mm2.vmas[1]: undefined → {"first":3,"count":1}',
      '"odd key": undefined → true',
    ]);
  });

  test('Equal values give no lines; a type change is one line; the output is bounded', () => {
    expect(diffJson({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toEqual([]);
    expect(diffJson({ a: { b: 1 } }, { a: 5 })).toEqual(['a: {"b":1} → 5']);
    expect(diffJson(1, 2)).toEqual(['(root): 1 → 2']);
    const many = diffJson(Array.from({ length: 10 }, (_, i) => i), [], 3);
    expect(many).toEqual(['[0]: 0 → undefined', '[1]: 1 → undefined', '[2]: 2 → undefined', '… 7 more change(s)']);
  });

  test('Natural order compares digit runs as numbers without a locale', () => {
    expect(['mm10', 'mm2', 'dev1', 'mm1'].sort(naturalCompare)).toEqual(['dev1', 'mm1', 'mm2', 'mm10']);
  });
});
