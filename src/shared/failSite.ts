/**
 * The closed registry of fault-injection sites: every fallible call of the ported SVA paths,
 * named `<kernel call>@<caller>` as a kernel stack trace would show it. `failNext(site)` arms
 * one of them; `failNth(n)` fails whichever the n-th fallible call of the next command is
 * (/proc/self/fail-nth). The impl checks a site exactly where the kernel call is; `errno` is
 * what that caller returns when the call fails (the command may report another one further up
 * the ladder: iommu_alloc_mm_data turns a failed PASID allocation into -ENOSPC).
 */
import type { Errno } from './errno.js';
import type { Platform } from './topology.js';

export type FailSite =
  // drivers/iommu/iommu-sva.c, iommu.c, mm/mmu_notifier.c, io-pgfault.c
  | 'kzalloc@iommu_alloc_mm_data'
  | 'ida_alloc_range@iommu_alloc_global_pasid'
  | 'kzalloc@iommu_sva_bind_device'
  | 'xa_insert@iommu_attach_device_pasid'
  | 'kzalloc@__mmu_notifier_register'
  | 'kzalloc@iopf_queue_add_device'
  | 'kzalloc@iopf_group_alloc'
  | 'xa_insert@iommu_attach_group_handle'
  // drivers/iommu/iommufd/device.c
  | 'kzalloc@iommufd_hwpt_attach_device'
  | 'kzalloc@iommufd_hwpt_replace_device'
  // drivers/iommu/intel/{svm,iommu,cache,pasid}.c
  | 'kzalloc@intel_svm_domain_alloc'
  | 'kzalloc@domain_add_dev_pasid'
  | 'kzalloc@domain_qi_batch_alloc'
  | 'kzalloc@cache_tag_assign'
  | 'iommu_alloc_pages_node@intel_pasid_get_entry'
  // drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3{,-sva}.c
  | 'kzalloc@arm_smmu_domain_alloc'
  | 'xa_alloc@arm_smmu_sva_domain_alloc'
  | 'kcalloc@arm_smmu_alloc_cd_tables'
  | 'dma_alloc_coherent@arm_smmu_alloc_cd_tables'
  | 'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table'
  | 'kzalloc@arm_smmu_attach_prepare'
  // drivers/iommu/amd/{iommu,pasid}.c
  | 'kzalloc@protection_domain_alloc'
  | 'kzalloc@iommu_sva_set_dev_pasid'
  | 'iommu_alloc_pages_node@__get_gcr3_pte';

export interface FailSiteInfo {
  readonly site: FailSite;
  /** What the caller returns when the call fails. */
  readonly errno: Errno;
  /**
   * Where the site is reached by a bind: 'all' for the core's, else the platforms whose
   * driver calls it there.
   */
  readonly platform: Platform | 'all' | readonly Platform[];
  /** The kernel file and version the failure path follows. */
  readonly source: string;
}

const all = (site: FailSite, errno: Errno, source: string): FailSiteInfo => ({ site, errno, platform: 'all', source });
const on = (platform: Platform | readonly Platform[], site: FailSite, errno: Errno, source: string): FailSiteInfo => ({ site, errno, platform, source });

export const FAIL_SITE_INFO: readonly FailSiteInfo[] = [
  all('kzalloc@iommu_alloc_mm_data', 'ENOMEM', 'drivers/iommu/iommu-sva.c (v7.0-rc5)'),
  all('ida_alloc_range@iommu_alloc_global_pasid', 'ENOSPC', 'drivers/iommu/iommu.c + iommu-sva.c (v7.0-rc5): IOMMU_PASID_INVALID → -ENOSPC'),
  all('kzalloc@iommu_sva_bind_device', 'ENOMEM', 'drivers/iommu/iommu-sva.c (v7.0-rc5): the handle'),
  all('xa_insert@iommu_attach_device_pasid', 'ENOMEM', 'drivers/iommu/iommu.c (v7.0-rc5): the pasid_array reservation'),
  all('kzalloc@__mmu_notifier_register', 'ENOMEM', 'mm/mmu_notifier.c (v7.0-rc5): the mm\'s first subscription list'),
  // A core call that only VT-d and SMMUv3 make per PASID attach (their set_dev_pasid enables
  // IOPF); AMD adds a PRI device to its IOPF queue once, at attach_device (amd/iommu.c v6.19-rc).
  on(['vtd', 'smmuv3'], 'kzalloc@iopf_queue_add_device', 'ENOMEM', 'drivers/iommu/io-pgfault.c (v7.0-rc5): the fault parameter'),
  // Reached by every driver's fault thread (VT-d PRQ, SMMUv3 stalls, AMD PPR log) at a group's
  // LAST, not by a bind: the static abort group stands in, the group is answered Response
  // Failure and iommu_report_device_fault still returns 0 (the errno is the allocation's).
  all('kzalloc@iopf_group_alloc', 'ENOMEM', 'drivers/iommu/io-pgfault.c (v7.0-rc5): the iopf_group; the abort_group fallback of the v6.9 iopf rework (3dfa64aecbaf and its series)'),
  // The RID's and iommufd's: reached by an iommufd attach or replace, so only where paging
  // domains are ported (AMD's are not). iommu_replace_group_handle's xa_reserve and
  // iommu_replace_device_pasid's xa_cmpxchg are not sites: a replace finds its slot occupied,
  // so neither allocates a node.
  on(['vtd', 'smmuv3'], 'xa_insert@iommu_attach_group_handle', 'ENOMEM', 'drivers/iommu/iommu.c (v7.0): IOMMU_NO_PASID\'s pasid_array slot'),
  on(['vtd', 'smmuv3'], 'kzalloc@iommufd_hwpt_attach_device', 'ENOMEM', 'drivers/iommu/iommufd/device.c (v7.0): the iommufd_attach_handle, before the core attach'),
  on(['vtd', 'smmuv3'], 'kzalloc@iommufd_hwpt_replace_device', 'ENOMEM', 'drivers/iommu/iommufd/device.c (v7.0): the new handle, before the core replace'),
  on('vtd', 'kzalloc@intel_svm_domain_alloc', 'ENOMEM', 'drivers/iommu/intel/svm.c (v7.0-rc5)'),
  on('vtd', 'kzalloc@domain_add_dev_pasid', 'ENOMEM', 'drivers/iommu/intel/iommu.c (v7.0-rc5): the dev_pasid'),
  on('vtd', 'kzalloc@domain_qi_batch_alloc', 'ENOMEM', 'drivers/iommu/intel/cache.c (v7.0-rc5): GFP_ATOMIC, first tag of the domain'),
  on('vtd', 'kzalloc@cache_tag_assign', 'ENOMEM', 'drivers/iommu/intel/cache.c (v7.0-rc5)'),
  on('vtd', 'iommu_alloc_pages_node@intel_pasid_get_entry', 'ENODEV', 'drivers/iommu/intel/pasid.c (v7.0-rc5): a PASID-table leaf; the setup returns -ENODEV'),
  on('smmuv3', 'kzalloc@arm_smmu_domain_alloc', 'ENOMEM', 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v7.0-rc5)'),
  on('smmuv3', 'xa_alloc@arm_smmu_sva_domain_alloc', 'ENOMEM', 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c (v7.0-rc5): the ASID'),
  on('smmuv3', 'kcalloc@arm_smmu_alloc_cd_tables', 'ENOMEM', 'arm-smmu-v3.c (v7.0-rc5): l2ptrs of a two-level CD table'),
  on('smmuv3', 'dma_alloc_coherent@arm_smmu_alloc_cd_tables', 'ENOMEM', 'arm-smmu-v3.c (v7.0-rc5): the linear table or the L1 table'),
  on('smmuv3', 'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table', 'ENOMEM', 'arm-smmu-v3.c (v7.0-rc5): a CD leaf; arm_smmu_set_pasid returns -ENOMEM'),
  on('smmuv3', 'kzalloc@arm_smmu_attach_prepare', 'ENOMEM', 'arm-smmu-v3.c (v7.0-rc5): the master_domain'),
  on('amd', 'kzalloc@protection_domain_alloc', 'ENOMEM', 'drivers/iommu/amd/iommu.c (v6.19-rc): NULL → amd_iommu_domain_alloc_sva returns -ENOMEM'),
  on('amd', 'kzalloc@iommu_sva_set_dev_pasid', 'EINVAL', 'drivers/iommu/amd/pasid.c (v6.19-rc): pdom_dev_data; ret is still -EINVAL there'),
  on('amd', 'iommu_alloc_pages_node@__get_gcr3_pte', 'ENOMEM', 'drivers/iommu/amd/iommu.c (v6.19-rc): a GCR3 level (GFP_ATOMIC); update_gcr3 returns -ENOMEM'),
];

export const FAIL_SITES: readonly FailSite[] = FAIL_SITE_INFO.map((i) => i.site);

const BY_SITE = new Map(FAIL_SITE_INFO.map((i) => [i.site, i]));

export const failSiteInfo = (site: FailSite): FailSiteInfo => BY_SITE.get(site)!;

export const isFailSite = (s: string): s is FailSite => BY_SITE.has(s as FailSite);

/** The sites that exist on a platform, in registry order. */
export const failSitesOf = (platform: Platform): readonly FailSite[] =>
  FAIL_SITE_INFO.filter((i) => i.platform === 'all' || i.platform === platform || (typeof i.platform !== 'string' && i.platform.includes(platform))).map((i) => i.site);

/** failNth(n): n is 1-based, as /proc/self/fail-nth; generators draw up to this. */
export const FAIL_NTH_MAX = 12;
