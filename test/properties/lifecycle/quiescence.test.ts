import { describe, expect, test } from 'vitest';
import type { ArmSmmuDevice } from '../../../src/impl/smmuv3/structs.js';
import { quiescence } from '../../../properties/lifecycle/quiescence.js';
import type { Platform } from '../../../src/shared/index.js';
import { amd_iommu_pdom_id_alloc } from '../../../src/impl/amd/pdomIds.js';
import { dev_iommu_priv_get as amdDevData } from '../../../src/impl/amd/structs.js';
import { PLATFORMS, bind, busy, check, exit, expectFires, expectHolds, grace, mmdrop, pair, spawn, touch, unbind, type Pair } from '../helpers.js';

/** busy() checked once (not quiescent), then every bond undone and the grace period run. */
const drained = (platform: Platform): Pair => {
  const p = busy(platform);
  expect(check(quiescence, p)).toEqual([]);
  return p.run(unbind(0, 0), unbind(0, 0), unbind(2, 0), unbind(3, 0), unbind(0, 1), grace);
};

describe.each(PLATFORMS)('I11 quiescence on %s', (platform) => {
  test('holds once every bond is undone and the grace period ran, and on later quiet steps', () => {
    const p = drained(platform);
    expectHolds(quiescence, p);
    p.run(touch(0, 2), exit(1), mmdrop(1));
    expectHolds(quiescence, p);
  });

  test('holds (it does not apply) while a notifier awaits its grace period', () => {
    const p = busy(platform).run(unbind(0, 0), unbind(0, 0), unbind(2, 0), unbind(3, 0), unbind(0, 1));
    expectHolds(quiescence, p);
  });

  test('fires when a PASID stays allocated with no live mm owning it (B04)', () => {
    const p = drained(platform);
    p.world.core.pasidIda.add(9);
    expectFires(quiescence, p, /PASID 9 allocated but owned by no live mm/);
  });

  test('fires on a later quiet step (the core subset) when the IDA holds a PASID no live mm owns', () => {
    const p = pair(platform).run(spawn(0));
    expect(check(quiescence, p)).toEqual([]);
    p.run(bind(4, 0)); // no PASID capability: -ENOSPC, nothing allocated
    expect(check(quiescence, p)).toEqual([]);
    p.world.core.pasidIda.add(3);
    expectFires(quiescence, p, /the IDA holds 1 PASIDs, live mms own 0/);
  });
});

test('fires on smmuv3 when an ASID stays in arm_smmu_asid_xa', () => {
  const p = drained('smmuv3');
  (p.world.iommus[0] as ArmSmmuDevice).asid_xa.xa_alloc(undefined as never, 1, 15);
  expectFires(quiescence, p, /ASID 1 still allocated/);
});

test('fires on vtd when a PASID entry outlives the attachment (the driver leak hook)', () => {
  const p = pair('vtd').run(spawn(0), bind(0, 0));
  expect(check(quiescence, p)).toEqual([]);
  const info = p.world.devices[0]!.priv as { pasid_table: { read(p: number): unknown; write(p: number, e: unknown): void } };
  const pasid = p.world.mms[0]!.iommu_mm!.pasid;
  const live = info.pasid_table.read(pasid);
  p.run(unbind(0, 0), grace);
  info.pasid_table.write(pasid, live);
  expectFires(quiescence, p, /driver: .*PASID \d+: present entry without an attached domain/);
});

test('fires on amd when a protection-domain ID beyond the boot-time ones stays allocated', () => {
  const p = drained('amd');
  amd_iommu_pdom_id_alloc(p.world.kernel);
  expectFires(quiescence, p, /1 protection-domain IDs beyond the boot-time ones still allocated/);
});

test('fires on amd when a GCR3 entry outlives the attachment (the driver leak hook)', () => {
  const p = pair('amd').run(spawn(0), bind(0, 0));
  expect(check(quiescence, p)).toEqual([]);
  const table = amdDevData(p.world.devices[0]!).gcr3_info.gcr3_tbl!;
  const pasid = p.world.mms[0]!.iommu_mm!.pasid;
  const live = table.fetch(pasid)!;
  p.run(unbind(0, 0)); // AMD: no grace period needed, the domain free was synchronous
  table.write(pasid, live);
  expectFires(quiescence, p, /driver: dev0: GCR3 entry for PASID \d+ valid with no live SVA domain attached there/);
});
