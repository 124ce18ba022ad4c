import { describe, expect, test } from 'vitest';
import { invalidationCost } from '../../../properties/hardware/invalidationCost.js';
import type { SmmuCmd, SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { QiDesc } from '../../../src/hw/vtd/descriptor.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { seedThreadTopology } from '../../../src/shared/index.js';
import { bench, holdsOnRandomWalks, ids, setup, wrapSubmit } from './helpers.js';

describe('I12 invalidation cost', () => {
  test.each(['vtd', 'smmuv3'] as const)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(invalidationCost, platform);
  });

  test("holds on the seed thread's four ATS devices: one P_IOTLB, four devTLB, one wait", () => {
    const b = bench('vtd', seedThreadTopology(1));
    setup(b, 0, [0, 1, 2, 3]);
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(invalidationCost)).toEqual([]);
    const kinds = b.probe.units[0]!.events.slice(0, b.probe.units[0]!.n).map((e) => e.kind);
    expect(kinds).toEqual(['piotlb', 'devtlb', 'devtlb', 'devtlb', 'devtlb', 'wait', 'completion']);
  });

  test('fires on "4 IOTLB invalidations instead of 1": a P_IOTLB per device (VT-d)', () => {
    const b = bench('vtd', seedThreadTopology(1));
    setup(b, 0, [0, 1, 2, 3]);
    let last: QiDesc | undefined;
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      if (d.kind === 'piotlb') last = d;
      else if (d.kind === 'devtlb' && d.sid > 0 && last !== undefined) submit(last);
      submit(d);
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const v = b.check(invalidationCost);
    expect(ids(v)).toEqual(['I12']);
    expect(v[0]!.objects).toEqual({ iommu: 0, mm: 0, piotlb: 4, devtlb: 4, waits: 1 });
  });

  test('fires on a duplicated device-TLB invalidation and on a wait per descriptor (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0, 1]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      submit(d);
      if (d.kind === 'devtlb' && d.sid === 0) submit(d);
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(invalidationCost)[0]!.message).toContain('(sid 0 twice)');
  });

  test.each(['vtd', 'smmuv3'] as const)('fires when an invalidation also hits an IOMMU the mm has no device behind on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    const other = b.world.iommus[1]!.unit;
    const extra: QiDesc | SmmuCmd = platform === 'vtd' ? { kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 1 } : { kind: 'TLBI_NH_ASID', asid: 1 };
    wrapSubmit<QiDesc | SmmuCmd>(b.world.iommus[0]!.unit as unknown as { submit(x: QiDesc | SmmuCmd): unknown }, (c, submit) => {
      submit(c);
      if (c.kind === 'wait' || c.kind === 'CMD_SYNC') {
        (other as unknown as { submit(x: QiDesc | SmmuCmd): unknown }).submit(extra);
        (other as unknown as { submit(x: QiDesc | SmmuCmd): unknown }).submit(platform === 'vtd' ? { kind: 'wait', fence: false, drain: false } : { kind: 'CMD_SYNC' });
      }
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(invalidationCost).map((x) => x.objects['iommu'])).toEqual([1]);
  });

  test('fires when each ATC_INV gets its own CMD_SYNC (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0, 1]);
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => {
      submit(c);
      if (c.kind === 'ATC_INV') submit({ kind: 'CMD_SYNC' });
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(invalidationCost)[0]!.objects).toEqual({ iommu: 0, mm: 0, asid: 1, tlbi: 1, atc: 2, syncs: 4 });
  });
});
