import { describe, expect, test } from 'vitest';
import { FPD_PASID_ENTRY } from '../../../src/hw/vtd/pasidTable.js';
import { dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import { pasidRange } from '../../../properties/lifecycle/pasidRange.js';
import { PLATFORMS, bind, busy, check, expectFires, expectHolds, pair, poke, spawn } from '../helpers.js';

describe.each(PLATFORMS)('I2 PASID range on %s', (platform) => {
  test('holds on bound devices and after a bind refused by the group\'s non-PASID device', () => {
    const p = busy(platform);
    expectHolds(pasidRange, p);
    // dev4 has no PASID capability: the bind fails and leaves no PASID state on it (B16).
    p.run(bind(4, 1));
    expectHolds(pasidRange, p);
  });

  test('fires when a device is bound at a PASID beyond its max_pasids', () => {
    const p = busy(platform);
    poke(p.world.devices[2]!, 'max_pasids', 1);
    expectFires(pasidRange, p, /max_pasids 1/);
  });

  test('fires when a group attaches PASID 0', () => {
    const p = busy(platform);
    const g = p.world.devices[0]!.group;
    const [pasid, e] = [...g.pasid_array][0]!;
    g.pasid_array.delete(pasid);
    g.pasid_array.set(0, e);
    expectFires(pasidRange, p, /entry at PASID 0/);
  });
});

describe('I2 PASID range at the RID (vtd)', () => {
  test('holds on a HWPT at the RID (IOMMU_NO_PASID holds the group\'s domain), fires on any other entry there', () => {
    const p = pair('vtd').run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 0 });
    expect(check(pasidRange, p)).toEqual([]);
    const g = p.world.devices[0]!.group;
    g.pasid_array.set(0, { kind: 'domain', domain: g.blocking_domain! });
    expectFires(pasidRange, p, /group 0 has an entry at PASID 0/);
  });
});

describe('I2 PASID range on vtd hardware', () => {
  test('fires when a non-PASID device has a PASID entry', () => {
    const p = pair('vtd').run(spawn(0), bind(0, 0));
    expect(check(pasidRange, p)).toEqual([]);
    const table = dev_iommu_priv_get(p.world.devices[4]!).pasid_table!;
    table.allocLeaf(1);
    table.write(1, FPD_PASID_ENTRY);
    expectFires(pasidRange, p, /dev4 \(max_pasids 0\) has a live hardware entry at PASID 1/);
  });
});
