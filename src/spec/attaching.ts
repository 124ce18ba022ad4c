/**
 * A group attach seen from the devices while it runs. __iommu_set_group_pasid
 * (drivers/iommu/iommu.c, v6.17) calls set_dev_pasid device by device and, when one refuses,
 * unwinds the devices before it through iommu_remove_dev_pasid. Until that unwind their PASID
 * entries are present and point at the mm: a device access in between translates, and a page
 * request finds no handle (the pasid_array still holds the XA_ZERO_ENTRY) and is answered
 * Invalid by the drain. Sequentially the attempt is one step and nothing of it shows; in a
 * group a bind that can stop partway has a point where its attempt is set up that far
 * (spec/points.ts).
 *
 * Only VT-d refuses a device statically after accepting an earlier one: intel_svm_set_dev_pasid
 * → intel_iommu_sva_supported needs ATS. An SMMUv3 group never spans two SMMUs (the topology
 * refuses it), so arm_smmu_set_pasid's SMMU check fails at the first device or never; AMD's
 * iommu_sva_set_dev_pasid has no static refusal.
 */
import { pagingHolds } from './paging.js';
import type { SpecState, SpecTopo } from './state.js';

/** Whether intel_iommu_sva_supported refuses `dev` (VT-d: no ATS), at domain_alloc_sva and at set_dev_pasid alike. */
export const svaRefuses = (t: SpecTopo, dev: number): boolean => t.topology.platform === 'vtd' && !t.topology.devices[dev]!.ats;

/** Whether some attach to `group` can stop partway: a PASID device accepted before one refused. Topology only. */
export const mayAttachPartway = (t: SpecTopo, group: number): boolean => {
  let accepted = false;
  for (const dev of t.groupDevs[group]!) {
    if (t.devMax[dev]! === 0) continue;
    if (svaRefuses(t, dev)) return accepted;
    accepted = true;
  }
  return false;
};

/**
 * The devices an SVA attach to `group` at `pasid` sets up before the device that refuses it, or
 * undefined when it refuses none of them or refuses before any set_dev_pasid: a PASID past a
 * device's max_pasids (-EINVAL) or held by an iommufd domain (xa_insert's -EBUSY).
 */
export const attachPartway = (s: SpecState, group: number, pasid: number): readonly number[] | undefined => {
  const { t } = s;
  const devs = t.groupDevs[group]!;
  for (const dev of devs) if (t.devMax[dev]! > 0 && pasid >= t.devMax[dev]!) return undefined;
  if (pagingHolds(s, group, pasid)) return undefined;
  const accepted: number[] = [];
  for (const dev of devs) {
    if (t.devMax[dev]! === 0) continue;
    if (svaRefuses(t, dev)) return accepted.length > 0 ? accepted : undefined;
    accepted.push(dev);
  }
  return undefined;
};

/** The attempt of `slot`'s PASID on `group` is set up on `devs` until endAttaching. */
export const beginAttaching = (s: SpecState, group: number, slot: number, devs: readonly number[]): void => {
  s.attaching.push({ group, slot, devs });
};

/** The unwind of `group`'s attempt, if one is set up partway. */
export const endAttaching = (s: SpecState, group: number): void => {
  const i = s.attaching.findIndex((a) => a.group === group);
  if (i >= 0) s.attaching.splice(i, 1);
};

/** The slot whose PASID `pasid` an attempt in progress has set up on `dev`, or undefined. */
export const attachingAt = (s: SpecState, dev: number, pasid: number): number | undefined => {
  for (const a of s.attaching) if (a.devs.includes(dev) && s.slots[a.slot]!.pasid.ctx.pasid === pasid) return a.slot;
  return undefined;
};
