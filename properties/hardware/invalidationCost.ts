import type { Invariant } from '../invariant.js';
import type { CheckContext } from '../invariant.js';
import { checkAmdBreadth, checkSmmuBreadth, checkVtdBreadth } from './costBreadth.js';
import { checkSmmuCost } from './costSmmu.js';
import { checkVtdCost } from './costVtd.js';
import { checkAmdCost } from './costAmd.js';
import { checkNestedCost } from './nestedFlush.js';
import { perPlatform, type Sink } from './platform.js';

const vtd = (ctx: CheckContext, out: Sink): void => {
  checkVtdCost(ctx, out);
  checkVtdBreadth(ctx, out);
  checkNestedCost(ctx, out);
};
const smmuv3 = (ctx: CheckContext, out: Sink): void => {
  checkSmmuCost(ctx, out);
  checkSmmuBreadth(ctx, out);
};
const amd = (ctx: CheckContext, out: Sink): void => {
  checkAmdCost(ctx, out);
  checkAmdBreadth(ctx, out);
};

/**
 * I12: each secondary-TLB invalidation costs exactly what the kernel objects ask for, counted
 * from the cache tags (VT-d) or master_domains (SMMUv3), never from what the driver emitted;
 * and none is broader than the kernel's conversion of its range (costBreadth.ts).
 */
export const invalidationCost: Invariant = {
  id: 'I12',
  title: 'Invalidation cost',
  kernelRule:
    'Per invalidation: one P_IOTLB per (IOMMU, PASID) plus one devTLB per ATS device and one wait per IOMMU batch (VT-d); one TLBI sequence per domain, bounded by CMDQ_MAX_TLBI_OPS, one ATC_INV per ATS stream and one CMD_SYNC per batch (SMMUv3); no per-device duplicates. None broader than the range needs: VT-d flushes a range other than (0, ULONG_MAX) page-selectively with calculate_psi_aligned_address\'s mask, never PASID-selective; SMMUv3 uses TLBI by ASID only for (0, ULONG_MAX) or, without RANGE_INV, CMDQ_MAX_TLBI_OPS pages or more, and ATC_INV spans the smallest aligned block; AMD\'s INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES cover at most build_inv_address\'s aligned block. A guest\'s one-page IOMMU_HWPT_INVALIDATE costs one page-selective P_IOTLB per IOTLB tag of the nested domain, one devTLB per DEVTLB tag and one wait.',
  source:
    'drivers/iommu/intel/cache.c: cache_tag_flush_range; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs; arm-smmu-v3.c: arm_smmu_atc_inv_domain, arm_smmu_atc_inv_to_cmd (v6.17); amd/pasid.c: sva_arch_invalidate_secondary_tlbs, amd/iommu.c: build_inv_address (v6.19-rc); intel/nested.c: intel_nested_cache_invalidate_user (v7.0); seed thread "4 IOTLB invalidations instead of 1"; bug B10',
  check: perPlatform('I12', { vtd, smmuv3, amd }),
};
