import { describe, expect, test } from 'vitest';
import { IOMMU_PASID_INVALID, iommu_alloc_global_pasid, iommu_free_global_pasid } from '../../../src/impl/core/pasid.js';
import { devSpec, iommuSpec, mockWorld } from './helpers.js';

describe('global PASID IDA', () => {
  test('allocates the smallest free id in [1, max_pasids - 1] and reuses freed ids', () => {
    const w = mockWorld({ iommus: [iommuSpec({ pasidBits: 2 })], devices: [devSpec(0, 0, { pasidBits: 8 })] });
    const k = w.world.kernel;
    const dev = w.world.devices[0]!;
    expect(dev.max_pasids).toBe(4); // min(PCI 2^8, IOMMU 2^2)
    expect([1, 2, 3].map(() => iommu_alloc_global_pasid(k, dev))).toEqual([1, 2, 3]);
    expect(iommu_alloc_global_pasid(k, dev)).toBe(IOMMU_PASID_INVALID);
    iommu_free_global_pasid(k, 2);
    expect(iommu_alloc_global_pasid(k, dev)).toBe(2);
    expect(() => iommu_free_global_pasid(k, 7)).toThrow();
  });

  test('a device without PASID support never gets one', () => {
    const w = mockWorld({ devices: [devSpec(0, 0, { pasidBits: 0 })] });
    expect(w.world.devices[0]!.max_pasids).toBe(0);
    expect(iommu_alloc_global_pasid(w.world.kernel, w.world.devices[0]!)).toBe(IOMMU_PASID_INVALID);
  });
});
