import { describe, expect, test } from 'vitest';
import { domainSharing } from '../../../properties/lifecycle/domainSharing.js';
import { PLATFORMS, bind, busy, check, exit, expectFires, expectHolds, pair, poke, spawn, unbind } from '../helpers.js';

describe.each(PLATFORMS)('I3 domain sharing on %s', (platform) => {
  test('holds with devices on both IOMMUs bound to one mm, and after exit and unbind', () => {
    const p = busy(platform);
    expectHolds(domainSharing, p);
    p.run(exit(0), unbind(2, 0), unbind(0, 0));
    expectHolds(domainSharing, p);
  });

  test('fires when a domain\'s users do not count its attachments', () => {
    const p = busy(platform);
    p.world.mms[0]!.iommu_mm!.sva_domains[0]!.users++;
    expectFires(domainSharing, p, /users \d+ but \d+ attachments/);
  });

  test('fires when an mm lists a second domain for the same IOMMU', () => {
    const p = pair(platform).run(spawn(0), bind(0, 0));
    const list = p.world.mms[0]!.iommu_mm!.sva_domains;
    list.push(list[0]!);
    expectFires(domainSharing, p, platform === 'vtd' ? /VT-d shares one per mm/ : platform === 'amd' ? /AMD shares one per mm/ : /two SVA domains on IOMMU 0/);
  });

  test('fires when a freed domain stays on sva_domains', () => {
    const p = busy(platform);
    poke(p.world.mms[1]!.iommu_mm!.sva_domains[0]!, 'freed', true);
    expectFires(domainSharing, p, /holds freed domain/);
  });
});

test('one domain on VT-d and one per SMMU instance on SMMUv3 for the same bonds', () => {
  const vtd = busy('vtd');
  const smmu = busy('smmuv3');
  expect(vtd.world.mms[0]!.iommu_mm!.sva_domains).toHaveLength(1);
  expect(smmu.world.mms[0]!.iommu_mm!.sva_domains).toHaveLength(2);
  expect(check(domainSharing, vtd)).toEqual([]);
  expect(check(domainSharing, smmu)).toEqual([]);
});
