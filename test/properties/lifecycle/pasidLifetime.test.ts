import { describe, test } from 'vitest';
import { pasidLifetime } from '../../../properties/lifecycle/pasidLifetime.js';
import { PLATFORMS, bind, busy, check, exit, expectFires, expectHolds, grace, mmdrop, poke, spawn, unbind } from '../helpers.js';

describe.each(PLATFORMS)('I1 PASID lifetime on %s', (platform) => {
  test('holds while mms bind, exit, drop their bonds and are freed', () => {
    const p = busy(platform);
    expectHolds(pasidLifetime, p);
    p.run(exit(0));
    expectHolds(pasidLifetime, p);
    p.run(mmdrop(0), unbind(0, 0), unbind(0, 0), unbind(2, 0), unbind(3, 0), grace, spawn(2), bind(0, 2));
    expectHolds(pasidLifetime, p);
  });

  test('fires when two live mms share a PASID', () => {
    const p = busy(platform);
    poke(p.world.mms[1]!.iommu_mm!, 'pasid', p.world.mms[0]!.iommu_mm!.pasid);
    expectFires(pasidLifetime, p, /share PASID/);
  });

  test('fires when a live mm\'s PASID changes', () => {
    const p = busy(platform);
    check(pasidLifetime, p);
    poke(p.world.mms[1]!.iommu_mm!, 'pasid', 7);
    p.world.core.pasidIda.add(7);
    expectFires(pasidLifetime, p, /PASID changed from \d+ to 7/);
  });

  test('fires when the PASID is freed at exit while the mm_struct is still pinned (B01)', () => {
    const p = busy(platform).run(exit(0));
    p.world.core.pasidIda.delete(p.world.mms[0]!.iommu_mm!.pasid);
    expectFires(pasidLifetime, p, /was freed while mm_count/);
  });
});
