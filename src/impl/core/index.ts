/** The generic SVA core: what drivers and the rest of src/impl may call. */
export type * from './types.js';
export type * from './ops.js';
export type { Arch } from './arch/index.js';
export type { MmuGather } from './mmuGather.js';
export { ContentCounters } from './content.js';
export { type CoreGlobals, type CoreOptions, coreOf, createKernel, failNext, inject_end, inject_group_begin, inject_task, injected_site, srcu_grace_period, warn } from './kernel.js';
export { __mmdrop, mm_alloc, mmdrop, mmget, mmget_not_zero, mmgrab, mmput } from './mm.js';
export { exit_mm, mmdrop_lazy_tlb } from './exit.js';
export { dup_mm } from './fork.js';
export { handle_mm_fault } from './fault.js';
export { do_mmap, find_vma } from './vma.js';
export { do_munmap } from './munmap.js';
export { do_mprotect } from './mprotect.js';
export { vfree, vmalloc } from './vmalloc.js';
export { mmu_notifier_arch_invalidate_secondary_tlbs, mmu_notifier_put, mmu_notifier_register, mmu_notifier_release } from './mmuNotifier.js';
export { IOMMU_FIRST_GLOBAL_PASID, IOMMU_PASID_INVALID, iommu_alloc_global_pasid, iommu_free_global_pasid, mm_pasid_drop } from './pasid.js';
export { IOMMU_NO_PASID, iommu_attach_device_pasid, iommu_attach_handle_get, iommu_detach_device_pasid, iommu_domain_free } from './iommu.js';
export { iommu_sva_bind_device, iommu_sva_get_pasid, iommu_sva_invalidate_kva_range, iommu_sva_unbind_device } from './iommuSva.js';
