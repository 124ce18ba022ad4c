/**
 * An mm's exit seen from the devices while it runs. exit_mmap (mm/mmap.c, v6.17) calls
 * mmu_notifier_release before it unmaps anything, and each SVA domain's release callback tears
 * the mm's entries down device by device: VT-d's intel_mm_release walks the domain's dev_pasids
 * (intel_pasid_tear_down_entry, FPD set), SMMUv3's arm_smmu_mm_release its devices list (a quiet
 * CD each), AMD's its dev_data_list (the GCR3 entry cleared). Until a device's turn its entry
 * still translates, and the pages are all still there; after it, its access faults as after the
 * exit. Sequentially the exit is one step; in a group it has two points, the release begun and
 * the rest of the exit, and a device access between them finds its own device released or not.
 *
 * Which one is a choice the linearization makes (SpecState.releaseSeen), not the order of the
 * kernel's lists (which mmu_notifier_register and list_add build, head first): any set of
 * devices released by a given time is some order's, and once a device is released it stays so.
 */
import type { SpecState } from './state.js';

/** The release of `slot`'s mm begins: no device is released yet. */
export const releaseBegin = (s: SpecState, slot: number): void => {
  s.releasing.push({ slot, released: [] });
};

/** The release is over (the exit proper follows). */
export const releaseEnd = (s: SpecState, slot: number): void => {
  const i = s.releasing.findIndex((r) => r.slot === slot);
  if (i >= 0) s.releasing.splice(i, 1);
};

/**
 * Whether dev's access to `slot`'s mm inside its release finds dev released: already, or now
 * by the linearization's choice (which then holds for dev's later accesses).
 */
export const releasedFor = (s: SpecState, dev: number, slot: number): boolean => {
  const r = s.releasing.find((x) => x.slot === slot);
  if (r === undefined) return false;
  if (r.released.includes(dev)) return true;
  if (!s.releaseSeen) return false;
  r.released.push(dev);
  return true;
};
