import { describe, expect, test } from 'vitest';
import { invalidationCost } from '../../../properties/hardware/invalidationCost.js';
import { INV_ALL_PAGES_ADDRESS, type AmdCmd, type AmdIommuUnit } from '../../../src/hw/amd/index.js';
import type { SmmuCmd, SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { QiDesc } from '../../../src/hw/vtd/descriptor.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { defaultTopology } from '../../../src/shared/index.js';
import { bench, setup, wrapSubmit } from './helpers.js';

/** I12's other direction (properties/hardware/costBreadth.ts): no flush broader than the range needs. */
describe('I12 breadth: an invalidation no broader than the kernel converts its range to', () => {
  test('holds on a one-page mprotect and on a migration\'s (0, -1) on VT-d', () => {
    const b = bench('vtd', defaultTopology('vtd'));
    setup(b, 0, [0]);
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost)).toEqual([]);
    b.run({ kind: 'migrate', mm: 0, page: 1 });
    expect(b.probe.invalidations.n).toBe(1);
    expect(b.check(invalidationCost)).toEqual([]);
  });

  test('fires on VT-d when a one-page mprotect is flushed PASID-selective (same count, so only breadth shows)', () => {
    const b = bench('vtd', defaultTopology('vtd'));
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) =>
      submit(d.kind === 'piotlb' ? { kind: 'piotlb', did: d.did, pasid: d.pasid, granularity: 'pasid' } as QiDesc : d));
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    const v = b.check(invalidationCost);
    expect(v.map((x) => x.message).join('\n')).toMatch(/PASID-selective P_IOTLB of PASID 1 .* aligned block is 2\^0 pages/);
  });

  test('fires on VT-d when the device TLB is flushed whole for one page', () => {
    const b = bench('vtd', defaultTopology('vtd'));
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) =>
      submit(d.kind === 'devtlb' ? { ...d, addr: 0, sizeOrder: 52 } : d));
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost).map((x) => x.message).join('\n')).toMatch(/device-TLB invalidation of 2\^52 pages/);
  });

  test('fires on SMMUv3 when a one-page mprotect is flushed by ASID', () => {
    const b = bench('smmuv3', defaultTopology('smmuv3'));
    setup(b, 0, [0]);
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) =>
      submit(c.kind === 'TLBI_NH_VA' ? ({ kind: 'TLBI_NH_ASID', asid: c.asid } as SmmuCmd) : c));
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost).map((x) => x.message).join('\n')).toMatch(/TLBI by ASID \d+ for mm0's 1-page range/);
  });

  test('holds on AMD for a one-page mprotect (S clear) and a two-page munmap (an aligned block of 2)', () => {
    const b = bench('amd');
    setup(b, 0, [0, 1]);
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost)).toEqual([]);
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 2 });
    expect(b.probe.invalidations.n).toBeGreaterThan(0);
    expect(b.check(invalidationCost)).toEqual([]);
  });

  test('fires on AMD when a one-page mprotect is flushed as all pages (same count, so only breadth shows)', () => {
    const b = bench('amd');
    setup(b, 0, [0, 1]);
    wrapSubmit<AmdCmd>(b.world.iommus[0]!.unit as AmdIommuUnit, (c, submit) =>
      submit(c.kind === 'INVALIDATE_IOMMU_PAGES' ? { ...c, s: true, address: INV_ALL_PAGES_ADDRESS } : c));
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost).map((x) => x.message).join('\n')).toMatch(/INVALIDATE_IOMMU_PAGES of all pages for mm0's range .* aligned block is 1 pages/);
  });

  test('fires on AMD when the device TLB flush of one page covers its aligned pair', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    wrapSubmit<AmdCmd>(b.world.iommus[0]!.unit as AmdIommuUnit, (c, submit) =>
      submit(c.kind === 'INVALIDATE_IOTLB_PAGES' ? { ...c, s: true, address: c.address } : c));
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    expect(b.check(invalidationCost).map((x) => x.message).join('\n')).toMatch(/INVALIDATE_IOTLB_PAGES of 2 pages .* aligned block is 1 pages/);
  });
});
