import { describe, test } from 'vitest';
import { svaMms } from '../../../properties/lifecycle/svaMms.js';
import { PLATFORMS, busy, expectFires, expectHolds, grace, unbind } from '../helpers.js';

describe.each(PLATFORMS)('L1 iommu_sva_mms on %s', (platform) => {
  test('holds while mms gain and lose their domains', () => {
    const p = busy(platform);
    expectHolds(svaMms, p);
    p.run(unbind(0, 1), grace);
    expectHolds(svaMms, p);
  });

  test('fires when an mm with SVA domains is missing from the list (KVA flush would skip it)', () => {
    const p = busy(platform);
    const list = p.world.core.sva.mms;
    list.splice(list.indexOf(p.world.mms[1]!.iommu_mm!), 1);
    expectFires(svaMms, p, /mm1 has 1 SVA domains but is not on iommu_sva_mms/);
  });

  test('fires when iommu_sva_present disagrees with the list', () => {
    const p = busy(platform);
    p.world.core.sva.present = false;
    expectFires(svaMms, p, /iommu_sva_present is false with 2 members/);
  });
});
