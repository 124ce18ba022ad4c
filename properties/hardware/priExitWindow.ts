import { MM, PTE_RO, PTE_RW, type SpecRetired, type SpecState } from '../../src/spec/state.js';

/**
 * A page response the spec gave with a retry that reads, where the device's retry failed: in a
 * concurrent group the handler ran before exit_mmap (mmget_not_zero held) and the response went
 * out after the mm release had cleared the PASID's translation (VT-d and AMD clear the entry,
 * SMMUv3 writes a quiet CD), so the retried access faults. The spec's serviceFaults linearizes
 * at the handler's decision; the retry happens at the response. Only a group can both answer
 * and exit the mm in one step, so a sequential step never gets this allowance.
 */
export const retriedAfterExit = (spec: SpecState, r: SpecRetired, worldOk: boolean): boolean =>
  r.ok && !worldOk && spec.slots[r.slot]!.mm.state === MM.exited;

/**
 * The same window for a page: the handler faulted the page in, and a concurrent munmap,
 * mprotect or migration took it away (or its write permission) before the response went out
 * (iommu_sva_handle_iopf drops mmap_lock before iopf_group_response), so the retry faults. The
 * spec's state after the group no longer allows the access. Sequentially the spec's page is the
 * one its own handler just mapped, so a sequential step never gets this allowance either.
 */
export const retriedAfterUnmap = (spec: SpecState, r: SpecRetired, worldOk: boolean): boolean => {
  if (!r.ok || worldOk) return false;
  const pte = spec.slots[r.slot]!.pte[r.page];
  return r.write ? pte !== PTE_RW : pte !== PTE_RO && pte !== PTE_RW;
};
