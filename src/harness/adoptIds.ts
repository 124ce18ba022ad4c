/**
 * Which free ID a group member's allocation gets (SMMUv3: an ASID of arm_smmu_asid_xa; AMD: a
 * domain ID of pdom_ids) depends on the interleaving: both allocators give the lowest free ID
 * (xa_alloc, ida_alloc_range), and a concurrent member may hold one for a while and give it
 * back, as a bind does whose new domain's attach then fails (arm_smmu_sva_domain_alloc takes
 * the ASID before iommu_attach_device_pasid can answer -EBUSY). The spec's lowest-free rule is
 * the sequential one; its atomic commands never hold an ID in passing. So a group's oracle takes
 * the kernel's IDs when they differ from some order's only by a renaming: as many IDs, each
 * domain's mapped one to one, and every other part of the abstract state equal. The spec then
 * adopts them, so the commands after the group allocate from the same IDs the kernel has.
 */
import type { AbstractView } from '../spec/index.js';
import { abstractView, diffViews, type SpecState } from '../spec/index.js';

/** Rename the spec's IDs to the kernel's (`kernel` is abstract(world)); false, and the spec untouched, when no renaming makes the views equal. */
export const adoptAllocatedIds = (spec: SpecState, kernel: AbstractView): boolean => {
  const view = abstractView(spec);
  if (view.asids.length !== kernel.asids.length || view.domains.length !== kernel.domains.length) return false;
  const map = new Map<number, number>();
  const taken = new Set<number>();
  for (let i = 0; i < view.domains.length; i++) {
    const a = view.domains[i]!.asid;
    const b = kernel.domains[i]!.asid;
    if (a === null || b === null) {
      if (a !== b) return false;
      continue;
    }
    const had = map.get(a);
    if (had !== undefined ? had !== b : taken.has(b)) return false;
    map.set(a, b);
    taken.add(b);
  }
  // The IDs no domain holds (a HWPT's, kept while it lives) pair up in ascending order.
  const restSpec = view.asids.filter((a) => !map.has(a));
  const restKernel = kernel.asids.filter((b) => !taken.has(b));
  if (restSpec.length !== restKernel.length) return false;
  for (let i = 0; i < restSpec.length; i++) map.set(restSpec[i]!, restKernel[i]!);
  const renamed: AbstractView = {
    ...view,
    domains: view.domains.map((d) => (d.asid === null ? d : { ...d, asid: map.get(d.asid)! })),
    asids: kernel.asids,
  };
  if (diffViews(renamed, kernel).length > 0) return false;
  spec.asids.clear();
  for (const b of kernel.asids) spec.asids.add(b);
  for (const sl of spec.slots) for (const d of sl.domains) if (d.asid !== 0) (d as { asid: number }).asid = map.get(d.asid)!;
  // A HWPT's ASID is released by its destroy: it must name the kernel's ID too.
  for (const h of spec.hwpts) if (h.asid !== 0) h.asid = map.get(h.asid)!;
  return true;
};
