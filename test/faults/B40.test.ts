import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a bind whose PASID attach fails in the driver (here the dev_pasid
 * kzalloc). intel_svm_set_dev_pasid unwinds itself; before b025dea63cde the core then undid
 * the attach on every device of the group, the failed one included, and
 * domain_remove_dev_pasid WARNs that the PASID was never attached.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'failNext', site: 'kzalloc@domain_add_dev_pasid' },
  { kind: 'bind', dev: 0, mm: 0 },
];
const t = defaultTopology('vtd');

describe('B40: a failed group PASID attach undone on devices never attached (fixed by b025dea63cde)', () => {
  test('The extra undo WARNs (I-SPLAT); mainline fails the bind cleanly with -ENOMEM', () => {
    const bad = runSequence(t, HAND, { fault: 'B40' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I-SPLAT', step: 2 });
    expect(bad.value.session.violation?.message).toContain('not attached');
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.steps[2]!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
  });

  test('Another device bound at the PASID behind the same IOMMU loses its shared IOTLB tag (CVE-2026-53281\'s refcount corruption)', () => {
    // dev 0 binds; dev 2 sits behind the other IOMMU, so use a topology with two ATS devices on one.
    const two = { ...t, devices: [t.devices[0]!, { ...t.devices[0]!, group: 1 }] };
    const cmds: Command[] = [
      { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'failNext', site: 'iommu_alloc_pages_node@intel_pasid_get_entry' }, { kind: 'bind', dev: 1, mm: 0 },
    ];
    const bad = runSequence(two, cmds, { fault: 'B40' });
    if (!bad.ok) throw new Error(bad.error);
    const v = bad.value.session.violation;
    expect(v?.step).toBe(3);
    expect(['I-SPLAT', 'I5']).toContain(v?.invariant);
    const good = runSequence(two, cmds);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to the hand-written length', (seed) => {
    const f = findFault('B40', { platform: 'vtd', seed, runs: 200 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
