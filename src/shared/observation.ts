import type { Errno } from './errno.js';
import { faultKindOf } from './faultKind.js';

/**
 * What a command returned, as the caller sees it. The spec predicts one, the impl produces
 * one, and the refinement check compares them with `sameObservation`.
 * - bind: value = the mm's PASID (iommu_sva_get_pasid of the handle);
 * - fork: value = the child's mm slot; dma/prefetch of a readable page: value = content token;
 * - a DMA that faulted: errno EFAULT, with `fault` saying why: the impl's is the IOMMU's fault
 *   record (`vtd0: no-pasid-entry`), the spec's its reason (`not bound`). Both name a fault
 *   kind (faultKind.ts), which is compared; the rest of the text is not (the spec does not
 *   know which cache or table entry refused it).
 */
export type Observation =
  | { readonly ok: true; readonly value?: number }
  | { readonly ok: false; readonly errno: Errno; readonly fault?: string };

export const OK: Observation = { ok: true };

/**
 * Equal results: the same value, or the same errno and, when both faults name a kind, the same
 * kind. A torn PASID entry that walks a wrong table ('translation-not-present') is therefore
 * not the clean non-present fault ('pasid-not-present') a DMA inside a replace may get. The
 * kind is derived from `fault`, not stored beside it: recorded traces keep their bytes.
 */
export const sameObservation = (a: Observation, b: Observation): boolean => {
  if (a.ok) return b.ok && a.value === b.value;
  if (b.ok || a.errno !== b.errno) return false;
  const ka = faultKindOf(a.fault);
  const kb = faultKindOf(b.fault);
  return ka === undefined || kb === undefined || ka === kb;
};
