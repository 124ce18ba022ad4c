import { describe, expect, test } from 'vitest';
import { invalidationCost } from '../../../properties/hardware/invalidationCost.js';
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
});
