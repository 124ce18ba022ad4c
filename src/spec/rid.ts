/**
 * iommufd HWPTs at a group's RID (IOMMU_NO_PASID), as the spec sees them: attachPasid,
 * replacePasid and detachPasid with PASID 0. The first RID attach of a group takes its DMA
 * ownership (iommufd_device_bind: the group leaves its identity default domain for the
 * blocking one, -EBUSY while any PASID of the group is attached) and keeps it; a detach goes
 * back to blocking. HWPT h at the RID of group g is `hwpts[h].pasid[g] === RID`, and an
 * access at the RID reads it as dmaIova reads a PASID's.
 * Sources: drivers/iommu/iommu.c: iommu_device_claim_dma_owner, iommu_attach_group_handle,
 * iommu_replace_group_handle, iommu_detach_group_handle, __iommu_group_set_domain_internal;
 * drivers/iommu/intel/iommu.c: intel_iommu_attach_device, dmar_domain_attach_device,
 * device_block_translation, blocking_domain_attach_dev (v7.0); arm-smmu-v3.c:
 * arm_smmu_attach_dev, arm_smmu_attach_dev_blocked (v6.17, as v7.0-rc5).
 */
import { NESTED_HWPT, failSiteInfo, type Command, type Errno, type FailSite, type Observation, type Platform } from '../shared/index.js';
import { consumeAnyFail, consumeFail } from './lifetime.js';
import { OK_OBS, fail } from './observe.js';
import { ATTACH_HANDLE, REPLACE_HANDLE, drainDetached, hwptAlloc } from './paging.js';
import type { SpecState } from './state.js';

/** hwpts[h].pasid[g] of a HWPT attached at group g's RID. */
export const RID = -1;

/**
 * Whether the harness builds RID attach on the platform: VT-d and SMMUv3. AMD's paging domains
 * are not ported, so PASID 0 is refused there by the precondition.
 */
export const hasRidAttach = (p: Platform): boolean => p === 'vtd' || p === 'smmuv3';

/** The HWPT at group's RID, or undefined (blocking or identity). */
export const ridAt = (s: SpecState, group: number): number | undefined => {
  for (let h = 0; h < s.hwpts.length; h++) if (s.hwpts[h]!.pasid[group] === RID) return h;
  return undefined;
};

/**
 * Whether HWPT hwpt may go to dev's group's RID (attachPasid at 0, or replacePasid from the
 * RID): on a platform that builds it (the nested HWPT on VT-d only: SMMUv3 and AMD nest under a
 * vIOMMU); an attach needs the RID free of HWPTs (iommufd's way from one to another is the
 * replace).
 */
export const ridTakes = (s: SpecState, dev: number, hwpt: number, attach: boolean): boolean =>
  hasRidAttach(s.t.topology.platform) && (!attach || ridAt(s, s.t.devGroup[dev]!) === undefined) &&
  // SMMUv3's HWPT 0 is a stage-2 nest parent, whose RID attach writes an S2 STE: the emulated
  // SMMU implements stage 1 only (hw/smmuv3/streamTable.ts), so only HWPT 1 goes to a RID.
  (s.t.topology.platform !== 'smmuv3' || hwpt === 1);

/**
 * Whether `cmd` works on its group's RID: such commands are sequential only (the concurrent
 * oracle's points, spec/points.ts, know PASID attachments alone), so groups leave them out.
 */
export const atRid = (s: SpecState, cmd: Command): boolean => {
  switch (cmd.kind) {
    case 'attachPasid':
      return cmd.pasid === 0;
    case 'replacePasid':
      return s.hwpts[cmd.from]!.pasid[s.t.devGroup[cmd.dev]!] === RID;
    case 'detachPasid':
      return s.hwpts[cmd.hwpt]!.pasid[s.t.devGroup[cmd.dev]!] === RID;
    default:
      return false;
  }
};

/**
 * Whether `cmd`, a RID command, may run in the concurrent group `cmds`: a VT-d RID attach of a
 * group of one device, with no injection armed, and, unless the group's DMA ownership is taken
 * already, no other member that changes the group's pasid_array (the claim, which the kernel
 * makes before the HWPT's allocation point and the spec at the attach's, reads it). Its one point
 * (after the allocation's, if it has one) is where the entry and the tags are all there: a member
 * may reach the device's entry before its tags are (dmar_domain_attach_device writes the entry
 * first), which no order of the members shows but I6 does. A replace's block-then-attach, a
 * detach's drain and a group's device-by-device switch would need points of their own, so those
 * stay sequential.
 */
export const ridGroupable = (s: SpecState, cmd: Command, cmds: readonly Command[]): boolean => {
  if (cmd.kind !== 'attachPasid' || cmd.pasid !== 0 || s.t.topology.platform !== 'vtd') return false;
  const group = s.t.devGroup[cmd.dev]!;
  if (s.t.groupDevs[group]!.length !== 1 || s.failArmed !== undefined || s.failNth > 0) return false;
  return s.ridOwned[group] === 1 || !cmds.some((c) => c !== cmd && PASID_ARRAY_KINDS.has(c.kind) && 'dev' in c && s.t.devGroup[c.dev] === group);
};

/** The commands that change a group's pasid_array. */
const PASID_ARRAY_KINDS: ReadonlySet<Command['kind']> = new Set<Command['kind']>(['bind', 'unbind', 'attachPasid', 'replacePasid', 'detachPasid']);

/** Anything in the group's pasid_array: an SVA handle, a HWPT at a PASID or at the RID. */
export const pasidArrayInUse = (s: SpecState, group: number): boolean =>
  s.slots.some((sl) => sl.handles[group] !== undefined) || s.hwpts.some((h) => h.pasid[group] !== 0);

/** intel_pasid_get_entry's leaf allocation: a teardown that fails it returns, a setup returns -ENODEV. */
const GET_ENTRY: FailSite = 'iommu_alloc_pages_node@intel_pasid_get_entry';

/**
 * The fallible calls of VT-d's attach_dev on one device: for a paging domain
 * (intel_iommu_attach_device) the IOMMU_NO_PASID entry's leaf (reached only when no earlier
 * call allocated it), then cache_tag_assign_domain's batch and tags, any failure blocking the
 * device again (out_block_translation); for the nested one (intel_nested_attach_dev) the tags
 * (the parent's NESTING ones too), then the leaf, each failure leaving nothing written.
 */
const ATTACH_DEV_SITES: ReadonlySet<FailSite> = new Set<FailSite>([GET_ENTRY, 'kzalloc@domain_qi_batch_alloc', 'kzalloc@cache_tag_assign']);

/**
 * The fallible calls of SMMUv3's arm_smmu_attach_dev for a stage-1 domain: SSID 0's CD
 * (arm_smmu_alloc_cd_ptr: the table, a leaf), then arm_smmu_attach_prepare's master_domain.
 * Each fails before the STE or a CD changes: the device keeps what it had.
 */
const SMMU_ATTACH_DEV_SITES: ReadonlySet<FailSite> = new Set<FailSite>([
  'kcalloc@arm_smmu_alloc_cd_tables', 'dma_alloc_coherent@arm_smmu_alloc_cd_tables', 'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table', 'kzalloc@arm_smmu_attach_prepare',
]);

/**
 * Every device of the group takes the domain, in order (each teardown of a present RID entry
 * drains: paging.ts drainDetached). The first failure ends it: the devices before the failing one go back
 * to what the group had, and the attachment is as before, which is what the core promises
 * (err_revert). VT-d keeps that promise only for an attach: its intel_iommu_attach_device blocks
 * the device before it can fail, and err_revert skips the device that failed, so a failed RID
 * replace leaves that device blocked (finding vtd-rid-replace-blocks). Returns the errno, or
 * undefined when every device took the domain.
 */
const setGroupDomain = (s: SpecState, group: number, hwpt: number, replacing: boolean): Errno | undefined => {
  const devs = s.t.groupDevs[group]!;
  if (s.t.topology.platform === 'smmuv3') {
    // arm_smmu_attach_dev: the domain's SMMU first (-EINVAL), then its allocations; the
    // devices before go back to blocking, which drains nothing on SMMUv3.
    for (const d of devs) {
      if (s.t.topology.devices[d]!.iommu !== s.hwpts[hwpt]!.iommu) return 'EINVAL';
      const site = consumeAnyFail(s, SMMU_ATTACH_DEV_SITES);
      if (site !== undefined) return failSiteInfo(site).errno;
    }
    return undefined;
  }
  for (let i = 0; i < devs.length; i++) {
    if (replacing) drainDetached(s, group, [devs[i]!]);
    const site = consumeAnyFail(s, ATTACH_DEV_SITES);
    if (site === undefined) continue;
    // A paging domain's tag failure tears down the entry just written; a leaf failure, and any
    // of the nested domain's, wrote none.
    if (site !== GET_ENTRY && hwpt !== NESTED_HWPT) drainDetached(s, group, [devs[i]!]);
    drainDetached(s, group, devs.slice(0, i));
    return failSiteInfo(site).errno;
  }
  return undefined;
};

/**
 * attachPasid(dev, hwpt, 0). Precondition: no HWPT at the group's RID, the platform builds it.
 * The HWPT's first-use allocation comes after the ownership claim: the VMM binds the device
 * before it allocates.
 */
export const ridAttach = (s: SpecState, dev: number, hwpt: number): Observation => {
  const group = s.t.devGroup[dev]!;
  if (s.ridOwned[group] === 0) {
    if (pasidArrayInUse(s, group)) return fail('EBUSY');
    // VT-d's blocking_domain_attach_dev of each device: the identity entry it tears down was
    // never written, so its leaf may still be missing, and a failure to allocate it is
    // swallowed. SMMUv3's arm_smmu_attach_dev_blocked allocates nothing.
    if (s.t.topology.platform === 'vtd') for (let i = 0; i < s.t.groupDevs[group]!.length; i++) consumeFail(s, GET_ENTRY);
    s.ridOwned[group] = 1;
  }
  const a = hwptAlloc(s, dev, hwpt);
  if (a !== undefined) return fail(a);
  if (consumeFail(s, ATTACH_HANDLE) || consumeFail(s, 'xa_insert@iommu_attach_group_handle')) return fail('ENOMEM');
  const e = setGroupDomain(s, group, hwpt, false);
  if (e !== undefined) return fail(e);
  s.hwpts[hwpt]!.pasid[group] = RID;
  return { ok: true, value: 0 };
};

/** replacePasid(dev, hwpt, from) with `from` at the group's RID: iommu_replace_group_handle. */
export const ridReplace = (s: SpecState, dev: number, hwpt: number, from: number): Observation => {
  s.retired.length = 0;
  const group = s.t.devGroup[dev]!;
  const a = hwptAlloc(s, dev, hwpt);
  if (a !== undefined) return fail(a);
  if (consumeFail(s, REPLACE_HANDLE)) return fail('ENOMEM');
  const e = setGroupDomain(s, group, hwpt, true);
  if (e !== undefined) return fail(e);
  s.hwpts[from]!.pasid[group] = 0;
  s.hwpts[hwpt]!.pasid[group] = RID;
  return OK_OBS;
};

/** detachPasid(dev, hwpt) at the RID: every device is blocked (its entry torn down, drained). */
export const ridDetach = (s: SpecState, dev: number, hwpt: number): Observation => {
  const group = s.t.devGroup[dev]!;
  // SMMUv3's arm_smmu_attach_dev_blocked flushes no fault: nothing drains.
  if (s.t.topology.platform === 'vtd') drainDetached(s, group, s.t.groupDevs[group]!);
  s.hwpts[hwpt]!.pasid[group] = 0;
  return OK_OBS;
};
