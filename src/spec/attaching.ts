/**
 * A group attach seen from the devices while it runs. __iommu_set_group_pasid
 * (drivers/iommu/iommu.c, v6.17) calls set_dev_pasid device by device and, when one refuses,
 * unwinds the devices before it through iommu_remove_dev_pasid; when all succeed,
 * iommu_attach_device_pasid then publishes the handle (xa_store over the XA_ZERO_ENTRY it
 * reserved: 5e9f822c9c68). Until the unwind or the store the devices' PASID entries (VT-d,
 * AMD) or CDs (SMMUv3) are present and point at the mm: a device access in between translates,
 * and a page request or stall finds no handle (the pasid_array holds the reservation) and is
 * answered Invalid. Sequentially the attempt is one step and nothing of it shows; in a group a
 * bind that can stop partway, or whose device's request another member can answer in the
 * window, has a point where its attempt is set up (spec/points.ts).
 *
 * Two things stop one partway. Statically, only VT-d refuses a device after accepting an
 * earlier one: intel_svm_set_dev_pasid → intel_iommu_sva_supported needs ATS (an SMMUv3 group
 * never spans two SMMUs, the topology refuses it, so arm_smmu_set_pasid's SMMU check fails at
 * the first device or never; AMD's iommu_sva_set_dev_pasid has no static refusal). On every
 * platform, an injected failure at one of the driver's set_dev_pasid allocations past the
 * group's first PASID device (ATTACH_SITES): an SMMUv3 stall master's CD is then live until
 * the unwind, the one window R04 has there.
 */
import type { FailSite, Platform } from '../shared/index.js';
import { pagingHolds } from './paging.js';
import type { SpecState, SpecTopo } from './state.js';

/**
 * The fallible calls of a driver's set_dev_pasid for one device (intel_svm_set_dev_pasid:
 * domain_add_dev_pasid, the cache tags and their batch, IOPF, the PASID-table leaf;
 * arm_smmu_set_pasid: the CD table and leaf, the master_domain, IOPF). Each one's failure
 * is unwound by the driver, so the attach fails with the site's errno and nothing else.
 */
export const ATTACH_SITES: Readonly<Record<Platform, ReadonlySet<FailSite>>> = {
  vtd: new Set<FailSite>([
    'kzalloc@domain_add_dev_pasid', 'kzalloc@domain_qi_batch_alloc', 'kzalloc@cache_tag_assign',
    'kzalloc@iopf_queue_add_device', 'iommu_alloc_pages_node@intel_pasid_get_entry',
  ]),
  smmuv3: new Set<FailSite>([
    'kcalloc@arm_smmu_alloc_cd_tables', 'dma_alloc_coherent@arm_smmu_alloc_cd_tables',
    'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table', 'kzalloc@arm_smmu_attach_prepare', 'kzalloc@iopf_queue_add_device',
  ]),
  // amd/pasid.c iommu_sva_set_dev_pasid: pdom_dev_data (its failure returns -EINVAL), then
  // update_gcr3's missing GCR3 levels. No IOPF here: AMD adds a PRI device to its IOPF queue
  // at attach_device (amd/iommu.c, probe time), not per PASID.
  amd: new Set<FailSite>(['kzalloc@iommu_sva_set_dev_pasid', 'iommu_alloc_pages_node@__get_gcr3_pte']),
};

/** Whether intel_iommu_sva_supported refuses `dev` (VT-d: no ATS), at domain_alloc_sva and at set_dev_pasid alike. */
export const svaRefuses = (t: SpecTopo, dev: number): boolean => t.topology.platform === 'vtd' && !t.topology.devices[dev]!.ats;

/** The PASID devices of `group`, in group order: those __iommu_set_group_pasid calls set_dev_pasid on. */
export const pasidDevs = (t: SpecTopo, group: number): number[] => t.groupDevs[group]!.filter((d) => t.devMax[d]! > 0);

/** The PASID devices of `group` an SVA attach sets up before the first that the driver refuses (svaRefuses). Topology only. */
export const svaAccepted = (t: SpecTopo, group: number): number[] => {
  const devs = pasidDevs(t, group);
  const refused = devs.findIndex((d) => svaRefuses(t, d));
  return refused < 0 ? devs : devs.slice(0, refused);
};

/** Whether some attach to `group` can stop partway statically: a PASID device accepted before one refused. Topology only. */
const mayAttachPartway = (t: SpecTopo, group: number): boolean => {
  const accepted = svaAccepted(t, group).length;
  return accepted > 0 && accepted < pasidDevs(t, group).length;
};

/** An injection that may fail a set_dev_pasid call: a failNth (any call), or a failNext at one of ATTACH_SITES. */
const injectionMayStop = (s: SpecState): boolean =>
  s.failNth > 0 || (s.failArmed !== undefined && ATTACH_SITES[s.t.topology.platform].has(s.failArmed));

/** Whether some attach to `group` can stop partway: statically (mayAttachPartway), or by an armed injection when the group has two PASID devices. */
export const mayStopPartway = (s: SpecState, group: number): boolean => {
  const { t } = s;
  if (mayAttachPartway(t, group)) return true;
  if (!injectionMayStop(s)) return false;
  let pasidDevs = 0;
  for (const dev of t.groupDevs[group]!) if (t.devMax[dev]! > 0) pasidDevs++;
  return pasidDevs > 1;
};

/**
 * The devices an SVA attach to `group` at `pasid` sets up before it ends: every PASID device
 * when it succeeds (the handle is published after them), those before the device that refuses
 * it or whose set_dev_pasid the injection fails (the spec's injection at skip k fails the k-th
 * PASID device's: bind.ts attachError), or undefined when it sets up none: a PASID past a
 * device's max_pasids (-EINVAL), held by an iommufd domain (xa_insert's -EBUSY), xa_insert's
 * own allocation failing, or a stop at the first device.
 */
export const attachSetUp = (s: SpecState, group: number, pasid: number): readonly number[] | undefined => {
  const { t } = s;
  const devs = t.groupDevs[group]!;
  for (const dev of devs) if (t.devMax[dev]! > 0 && pasid >= t.devMax[dev]!) return undefined;
  if (pagingHolds(s, group, pasid)) return undefined;
  const site = s.injected;
  if (site === 'xa_insert@iommu_attach_device_pasid' && s.injectSkip === 0) return undefined;
  // The attach's opportunities to meet the injection before the failing one, or -1: none fails.
  let skip = site !== undefined && ATTACH_SITES[t.topology.platform].has(site) ? s.injectSkip : -1;
  const accepted: number[] = [];
  for (const dev of devs) {
    if (t.devMax[dev]! === 0) continue;
    if (svaRefuses(t, dev) || skip === 0) break;
    skip--;
    accepted.push(dev);
  }
  return accepted.length > 0 ? accepted : undefined;
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
