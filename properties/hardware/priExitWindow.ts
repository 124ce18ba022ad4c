import { MM, type SpecRetired, type SpecState } from '../../src/spec/state.js';

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
