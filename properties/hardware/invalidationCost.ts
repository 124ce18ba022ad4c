import type { Invariant } from '../invariant.js';
import { checkSmmuCost } from './costSmmu.js';
import { checkVtdCost } from './costVtd.js';
import { checkAmdCost } from './costAmd.js';
import { perPlatform } from './platform.js';

/**
 * I12: each secondary-TLB invalidation costs exactly what the kernel objects ask for, counted
 * from the cache tags (VT-d) or master_domains (SMMUv3), never from what the driver emitted.
 */
export const invalidationCost: Invariant = {
  id: 'I12',
  title: 'Invalidation cost',
  kernelRule:
    'Per invalidation: one P_IOTLB per (IOMMU, PASID) plus one devTLB per ATS device and one wait per IOMMU batch (VT-d); one TLBI sequence per domain, bounded by CMDQ_MAX_TLBI_OPS, one ATC_INV per ATS stream and one CMD_SYNC per batch (SMMUv3); no per-device duplicates.',
  source:
    'drivers/iommu/intel/cache.c: cache_tag_flush_range; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs; arm-smmu-v3.c: arm_smmu_atc_inv_domain (v6.17); amd/pasid.c: sva_arch_invalidate_secondary_tlbs (v6.19-rc); seed thread "4 IOTLB invalidations instead of 1"; bug B10',
  check: perPlatform('I12', { vtd: checkVtdCost, smmuv3: checkSmmuCost, amd: checkAmdCost }),
};
