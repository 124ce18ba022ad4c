import { describe, expect, test } from 'vitest';
import { INV_ALL_PAGES_ADDRESS, invRange } from '../../../src/hw/amd/index.js';
import { build_inv_address } from '../../../src/impl/amd/cmd.js';
import { get_gcr3_levels } from '../../../src/impl/amd/gcr3.js';
import { ULONG_MAX } from '../../../src/shared/index.js';

describe('AMD command encoding (amd/iommu.c, v6.19-rc)', () => {
  test('build_inv_address: one page plain, several as the aligned block holding both ends, bit 51 or more: everything', () => {
    expect(build_inv_address(0x5000n, 0x1000n)).toEqual({ address: 0x5000n, s: false });
    const two = build_inv_address(0x1000n, 0x2000n);
    expect(invRange(two.address, two.s)).toEqual({ first: 0, pages: 4 });
    expect(build_inv_address(0n, ULONG_MAX)).toEqual({ address: INV_ALL_PAGES_ADDRESS, s: true });
    expect(build_inv_address(0n, INV_ALL_PAGES_ADDRESS)).toEqual({ address: INV_ALL_PAGES_ADDRESS, s: true });
  });

  test('get_gcr3_levels: 9 PASID bits per level', () => {
    expect([15, 512, 513, 65535, 1 << 18, (1 << 18) + 1].map((n) => get_gcr3_levels(n, 1))).toEqual([0, 0, 1, 1, 1, 2]);
    expect(get_gcr3_levels(-1, 1)).toBe(1);
  });
});
