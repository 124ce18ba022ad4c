import type { Errno } from './errno.js';

/**
 * What a command returned, as the caller sees it. The spec predicts one, the impl produces
 * one, and the refinement check compares them with `sameObservation`.
 * - bind: value = the mm's PASID (iommu_sva_get_pasid of the handle);
 * - fork: value = the child's mm slot; dma/prefetch of a readable page: value = content token;
 * - a DMA that faulted: errno EFAULT, with `fault` saying why (not compared: the spec does not
 *   know which cache or table entry refused it).
 */
export type Observation =
  | { readonly ok: true; readonly value?: number }
  | { readonly ok: false; readonly errno: Errno; readonly fault?: string };

export const OK: Observation = { ok: true };

export const sameObservation = (a: Observation, b: Observation): boolean =>
  a.ok ? b.ok && a.value === b.value : !b.ok && a.errno === b.errno;
