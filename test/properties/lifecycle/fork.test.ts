import { describe, expect, test } from 'vitest';
import { forkChild } from '../../../properties/lifecycle/fork.js';
import { PLATFORMS, busy, check, expectFires, expectHolds, fork, mmap, touch } from '../helpers.js';

describe.each(PLATFORMS)('I13 fork on %s', (platform) => {
  test('holds for the child of a bound parent', () => {
    const p = busy(platform).run(fork(0, 2));
    expectHolds(forkChild, p);
    expect(p.world.mms[0]!.iommu_mm).toBeDefined();
  });

  test('fires when the child shares the parent\'s iommu_mm (B03 shape)', () => {
    const p = busy(platform).run(fork(0, 2));
    p.world.mms[2]!.iommu_mm = p.world.mms[0]!.iommu_mm;
    expectFires(forkChild, p, /fork child mm2 starts with iommu_mm \(PASID \d+\)/);
  });

  test('fires when the child inherits the parent\'s mmu notifiers', () => {
    const p = busy(platform).run(fork(0, 2));
    p.world.mms[2]!.notifiers.push(...p.world.mms[0]!.notifiers);
    expectFires(forkChild, p, /starts with \d+ mmu notifiers/);
  });

  test('applies only to the fork step itself', () => {
    const p = busy(platform).run(fork(0, 2));
    p.world.mms[2]!.iommu_mm = p.world.mms[0]!.iommu_mm;
    p.run(mmap(1, 0, 1), touch(1, 0));
    expect(check(forkChild, p)).toEqual([]);
  });
});
