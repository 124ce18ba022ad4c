/**
 * The SVA I/O page-fault handler, after drivers/iommu/iommu-sva.c (v6.17):
 * iommu_sva_iopf_handler queues the group on the fault queue's workqueue; the work
 * (iommu_sva_handle_iopf) handles each fault against the domain's mm and answers the group.
 */
import type { Co } from './sched.js';
import { mmap_read_lock, mmap_read_unlock } from './mmapLock.js';
import type { Errno, PageResponseCode } from '../../shared/index.js';
import { USER_BASE_VPN } from '../../shared/index.js';
import { handle_mm_fault } from './fault.js';
import {
  IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, IOMMU_FAULT_PERM_EXEC, IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE,
  type IopfFault, type IopfGroup, iopf_free_group, iopf_group_response, iopf_queue_work,
} from './iopf.js';
import { mmget_not_zero, mmput } from './mm.js';
import type { MmStruct } from './types.js';
import { find_vma } from './vma.js';

/** The harness page at a byte address, or -1 when the address is no harness page (layout.ts). */
function pageOfAddr(mm: MmStruct, addr: bigint): number {
  const off = Number(addr >> 12n) - USER_BASE_VPN;
  if (off < 0 || (off & 511) > 1) return -1;
  const page = (off >> 9) * 2 + (off & 511);
  return page < mm.kernel.topology.pages ? page : -1;
}

/**
 * iommu-sva.c: iommu_sva_handle_mm (v6.17, as in v7.0-rc5): no PASID, an mm being torn down
 * (mmget_not_zero fails once exit_mmap started), no VMA (vma_lookup under mmap_read_lock), or
 * an access the VMA does not allow: INVALID. Otherwise handle_mm_fault (FAULT_FLAG_REMOTE)
 * decides: an error is INVALID, else SUCCESS. mmap_read_unlock, then mmput (which may be the
 * last: exit_mmap in the kworker).
 */
export function* iommu_sva_handle_mm(fault: IopfFault, mm: MmStruct): Co<PageResponseCode> {
  const prm = fault.prm;
  if ((prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) === 0) return 'invalid';
  if (!mmget_not_zero(mm)) return 'invalid';
  let status: PageResponseCode = 'invalid';
  yield* mmap_read_lock(mm);
  // vma_lookup(mm, prm->addr)
  const page = pageOfAddr(mm, prm.addr);
  const i = page < 0 ? -1 : find_vma(mm, page);
  if (i >= 0) {
    const prot = mm.vmas[i]!.prot;
    // access_flags & ~vma->vm_flags: VM_READ needs r, VM_WRITE needs rw, VM_EXEC is never set here.
    const denied = ((prm.perm & IOMMU_FAULT_PERM_READ) !== 0 && prot === 'none') ||
      ((prm.perm & IOMMU_FAULT_PERM_WRITE) !== 0 && prot !== 'rw') || (prm.perm & IOMMU_FAULT_PERM_EXEC) !== 0;
    if (!denied) {
      const ret = yield* handle_mm_fault(mm, page, (prm.perm & IOMMU_FAULT_PERM_WRITE) !== 0);
      status = ret === 0 ? 'success' : 'invalid';
    }
  }
  yield* mmap_read_unlock(mm);
  yield* mmput(mm);
  return status;
}

/** iommu-sva.c: iommu_sva_handle_iopf (v6.17): errors are sticky within the group. */
export function* iommu_sva_handle_iopf(group: IopfGroup): Co {
  let status: PageResponseCode = 'success';
  const mm = group.attach_handle!.domain.mm!;
  for (const iopf of group.faults) {
    if (status !== 'success') break;
    status = yield* iommu_sva_handle_mm(iopf, mm);
  }
  if (mm.kernel.trace) mm.kernel.trace.event('core', 'iopf', `mm${mm.slot} PASID ${group.last_fault.prm.pasid} PRG ${group.last_fault.prm.grpid}: ${status}`);
  yield* iopf_group_response(group, status);
  iopf_free_group(group);
}

/** iommu-sva.c: iommu_sva_iopf_handler (v6.17): INIT_WORK + queue_work on the fault queue's wq. */
export function iommu_sva_iopf_handler(group: IopfGroup): Errno | 0 {
  return iopf_queue_work(group, iommu_sva_handle_iopf);
}
