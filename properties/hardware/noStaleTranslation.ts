import type { Invariant } from '../invariant.js';
import { perPlatform } from './platform.js';
import { checkAtcs } from './staleAtc.js';
import { checkSmmuCaches } from './staleSmmu.js';
import { checkVtdCaches } from './staleVtd.js';
import { checkAmdCaches } from './staleAmd.js';

/**
 * I6: once a command has returned, no IOMMU or device cache translates more than the CPU page
 * tables do now, and no cached entry carries a PASID or ASID that is free to be reused.
 */
export const noStaleTranslation: Invariant = {
  id: 'I6',
  title: 'No stale translation',
  kernelRule:
    'When the secondary-TLB invalidation (or a detach/release flush) returns, no IOTLB, paging-structure/walk cache, PASID/CD cache or ATC entry is wider than the page tables, and none is tagged with a freed PASID or ASID.',
  source:
    'drivers/iommu/intel/svm.c: intel_arch_invalidate_secondary_tlbs; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs, arm_smmu_sva_domain_free (v6.17); drivers/iommu/amd/pasid.c: sva_arch_invalidate_secondary_tlbs, amd/iommu.c: update_gcr3 (v6.19-rc); bugs B06, B07, B12',
  check: perPlatform('I6', {
    vtd: (ctx, out) => {
      checkVtdCaches(ctx.world, out);
      checkAtcs(ctx.world, out);
    },
    smmuv3: (ctx, out) => {
      checkSmmuCaches(ctx.world, out);
      checkAtcs(ctx.world, out);
    },
    amd: (ctx, out) => {
      checkAmdCaches(ctx.world, out);
      checkAtcs(ctx.world, out);
    },
  }),
};
