import { expect, test } from 'vitest';
import { INVARIANTS } from '../../../properties/registry.js';
import { LIFECYCLE_INVARIANTS } from '../../../properties/lifecycle/index.js';

test('every lifecycle invariant is registered once, with a unique id, a title, a kernel rule and a source', () => {
  const ids = LIFECYCLE_INVARIANTS.map((i) => i.id);
  expect(new Set(ids).size).toBe(ids.length);
  // The rules of reference/kernel-sva.md §5 stay registered; a new invariant only adds to the list.
  expect(ids).toEqual(expect.arrayContaining(['I1', 'I2', 'I3', 'I4', 'I5', 'I10', 'I11', 'I13', 'L1', 'I-SPLAT', 'I-FAIL', 'REF']));
  for (const inv of LIFECYCLE_INVARIANTS) {
    expect(INVARIANTS).toContain(inv);
    expect(inv.title.length).toBeGreaterThan(10);
    expect(inv.kernelRule.length).toBeGreaterThan(20);
    expect(inv.source).toMatch(/\.c|DESIGN/);
  }
});
