import { describe, expect, test } from 'vitest';
import { CD_ZERO } from '../../../src/hw/smmuv3/index.js';
import { CLEAR_PASID_ENTRY } from '../../../src/hw/vtd/pasidTable.js';
import type { World } from '../../../src/impl/index.js';
import { dev_iommu_priv_get as smmuMaster, to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { dev_iommu_priv_get as vtdInfo, to_dmar_domain } from '../../../src/impl/vtd/dmar.js';
import { dev_iommu_priv_get as amdDevData, to_pdomain } from '../../../src/impl/amd/structs.js';
import { consistency } from '../../../properties/lifecycle/consistency.js';
import { PLATFORMS, bind, busy, check, exit, expectFires, expectHolds, pair, unbind } from '../helpers.js';

/** Overwrite the driver-written entry of dev at pasid with an empty one. */
const clearEntry = (world: World, dev: number, pasid: number): void => {
  const d = world.devices[dev]!;
  if (world.topology.platform === 'vtd') vtdInfo(d).pasid_table!.write(pasid, CLEAR_PASID_ENTRY);
  else if (world.topology.platform === 'amd') amdDevData(d).gcr3_info.gcr3_tbl!.write(pasid, { valid: false, cr3: 0 });
  else smmuMaster(d).cd_table.table!.write(pasid, CD_ZERO);
};

describe.each(PLATFORMS)('I5 consistency on %s', (platform) => {
  test('holds while bound, after exit (quiet entries) and after unbind', () => {
    const p = busy(platform);
    expectHolds(consistency, p);
    p.run(exit(0));
    expectHolds(consistency, p);
    p.run(unbind(2, 0), unbind(3, 0));
    expectHolds(consistency, p);
  });

  test('fires when the pasid_array entry goes but the device list and hardware entry stay', () => {
    const p = busy(platform);
    const pasid = p.world.mms[0]!.iommu_mm!.pasid;
    p.world.devices[2]!.group.pasid_array.delete(pasid);
    expectFires(consistency, p, /lists dev2\/\d+, which its group does not attach/);
    expectFires(consistency, p, /dev2 has a hardware entry at PASID \d+ that its group does not attach/);
  });

  test('fires when the hardware entry of an attached PASID is cleared', () => {
    const p = busy(platform);
    clearEntry(p.world, 0, p.world.mms[1]!.iommu_mm!.pasid);
    expectFires(consistency, p, { vtd: /dev0 PASID \d+ \(domain \d+\): entry not present/, smmuv3: /dev0 PASID \d+ \(domain \d+\): CD not valid/, amd: /dev0 PASID \d+ \(domain \d+\): GCR3 entry not valid/ }[platform]);
  });

  test('fires when an XA_ZERO_ENTRY reservation is left behind', () => {
    const p = busy(platform);
    p.world.devices[1]!.group.pasid_array.set(5, { kind: 'reserved' });
    expectFires(consistency, p, /reservation left behind/);
  });

  test('fires when the entry still points at the pgd after the mm exited', () => {
    const p = busy(platform);
    const pasid = p.world.mms[0]!.iommu_mm!.pasid;
    const d = p.world.devices[0]!;
    // Put back the live entry release replaced: DMA could still walk the dying mm's tables.
    if (platform === 'vtd') {
      const table = vtdInfo(d).pasid_table!;
      const live = table.read(pasid);
      p.run(exit(0));
      table.write(pasid, live);
    } else if (platform === 'amd') {
      const table = amdDevData(d).gcr3_info.gcr3_tbl!;
      const live = table.fetch(pasid)!;
      p.run(exit(0));
      table.write(pasid, live);
    } else {
      const table = smmuMaster(d).cd_table.table!;
      const live = table.read(pasid);
      p.run(exit(0));
      table.write(pasid, live);
    }
    expectFires(consistency, p, platform === 'amd' ? /GCR3 entry still valid after sva_mn_release/ : /after mm release/);
  });
});

describe('I5 on AMD: release empties the device list', () => {
  test('fires when an exited mm\'s attachment stays on the domain\'s dev_data_list', () => {
    const p = busy('amd');
    const dom = to_pdomain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!);
    const kept = [...dom.dev_data_list];
    p.run(exit(0));
    expectHolds(consistency, p);
    dom.dev_data_list.push(kept[0]!);
    expectFires(consistency, p, /device list holds dev\d+\/\d+ 1 times, 0 expected/);
  });

  test('fires when an SVA domain\'s ID is no longer allocated in pdom_ids', () => {
    const p = busy('amd');
    const dom = to_pdomain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!);
    (dom as { id: number }).id = 999;
    expectFires(consistency, p, /domain ID 999 is not allocated in pdom_ids/);
  });
});

describe('I5 invalidation bookkeeping', () => {
  test('fires on vtd when a DEVTLB cache tag is missing', () => {
    const p = busy('vtd');
    const dmar = to_dmar_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!);
    const i = dmar.cache_tags.findIndex((t) => t.type === 'DEVTLB');
    dmar.cache_tags.splice(i, 1);
    expectFires(consistency, p, /0 DEVTLB tags, 1 expected/);
  });

  test('fires on vtd when an IOTLB tag miscounts the devices behind its IOMMU', () => {
    const p = busy('vtd');
    to_dmar_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!).cache_tags.find((t) => t.type === 'IOTLB')!.users += 1;
    expectFires(consistency, p, /users \d+, \d+ dev_pasids/);
  });

  test('fires on smmuv3 when nr_ats_masters disagrees with the master_domains', () => {
    const p = busy('smmuv3');
    to_smmu_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!).nr_ats_masters += 1;
    expectFires(consistency, p, /nr_ats_masters \d+, \d+ ATS master_domains/);
  });

  test('holds on a HWPT at a RID (SMMUv3), fires when the HWPT domain\'s nr_ats_masters drifts', () => {
    const p = pair('smmuv3').run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 0 });
    const d = to_smmu_domain(p.world.hwpts[1]!.domain!);
    expect(d.devices.map((md) => md.ssid)).toEqual([0]);
    expect(check(consistency, p)).toEqual([]);
    d.nr_ats_masters += 1;
    expectFires(consistency, p, new RegExp(`domain ${d.domain.id}: nr_ats_masters \\d+, \\d+ ATS master_domains`));
  });

  test('fires on smmuv3 when the domain\'s ASID is not its own in arm_smmu_asid_xa', () => {
    const p = busy('smmuv3');
    to_smmu_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!).smmu.asid_xa.xa_erase(to_smmu_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!).cd.asid);
    expectFires(consistency, p, /is not this domain's in arm_smmu_asid_xa/);
  });

  test('a second device behind the same VT-d IOMMU shares the IOTLB tag', () => {
    const p = busy('vtd').run(bind(5, 0));
    const dmar = to_dmar_domain(p.world.mms[0]!.iommu_mm!.sva_domains[0]!);
    const iommu1 = vtdInfo(p.world.devices[2]!).iommu;
    expect(dmar.cache_tags.find((t) => t.type === 'IOTLB' && t.iommu === iommu1)!.users).toBe(3);
    expect(check(consistency, p)).toEqual([]);
  });
});
