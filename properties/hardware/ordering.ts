import type { Invariant } from '../invariant.js';
import { checkSmmuOrdering } from './orderingSmmu.js';
import { checkVtdOrdering } from './orderingVtd.js';
import { checkNestedOrdering } from './nestedFlush.js';
import type { CheckContext } from '../invariant.js';
import type { Sink } from './platform.js';

const vtd = (ctx: CheckContext, out: Sink): void => {
  checkVtdOrdering(ctx, out);
  checkNestedOrdering(ctx, out);
};
import { checkAmdOrdering } from './orderingAmd.js';
import { perPlatform } from './platform.js';

/**
 * I7: invalidations reach the hardware in the kernel's order: the IOMMU's TLB before the
 * devices' ATCs; on detach, entry → PASID cache / CFGI_CD → IOTLB → devTLB/ATC → PRQ drain;
 * an attach returns with its entry visible.
 */
export const ordering: Invariant = {
  id: 'I7',
  title: 'Invalidation and teardown ordering',
  kernelRule:
    "The IOMMU's TLB invalidation (and its wait/sync) precedes the device-TLB/ATC invalidation; teardown clears the entry, then flushes the PASID cache or CD, the IOTLB, the device TLB, then drains the PRQ; attach returns only once the entry is visible. On VT-d a nest parent's flush invalidates each nested user's IOTLB entries (its nested DID) before that user's device TLB.",
  source:
    'drivers/iommu/intel/pasid.c: intel_pasid_tear_down_entry; drivers/iommu/intel/cache.c: cache_tag_flush_range; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_arch_invalidate_secondary_tlbs, arm_smmu_mm_release; arm-smmu-v3.c: arm_smmu_blocking_set_dev_pasid (v6.17); drivers/iommu/amd/iommu.c: update_gcr3, amd_iommu_dev_flush_pasid_pages (v6.19-rc); drivers/iommu/intel/cache.c: cache_tag_flush_range (NESTING_* tags, v7.0); bug B06',
  check: perPlatform('I7', { vtd, smmuv3: checkSmmuOrdering, amd: checkAmdOrdering }),
};
