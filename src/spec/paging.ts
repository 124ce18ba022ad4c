/**
 * iommufd paging domains at a PASID, as the spec sees them: HWPT h is one paging domain
 * (allocated by its first attach, kept until destroyHwpt), mapping IOVA pages to kernel buffers, attached
 * to at most one PASID per group. A device's access at that PASID reads the buffer's token iff
 * the page is mapped with the access's permission; the PASID space is shared with SVA through
 * each group's pasid_array, so a PASID taken by one is -EBUSY for the other.
 * Sources: drivers/iommu/iommu.c: iommu_attach_device_pasid, iommu_detach_device_pasid,
 * iommu_paging_domain_alloc_flags, iommu_map, iommu_unmap; drivers/iommu/intel/iommu.c:
 * intel_iommu_domain_alloc_paging_flags, intel_iommu_set_dev_pasid;
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: arm_smmu_domain_alloc_paging_flags,
 * arm_smmu_domain_finalise_s1, arm_smmu_s1_set_dev_pasid, arm_smmu_set_pasid (v7.0-rc5).
 */
import {
  IOVA_PAGES, MAX_HWPTS, NESTED_HWPT, NEST_PARENT_HWPT, failSiteInfo, iovaToken, type Errno, type FailSite, type Observation, type Platform,
} from '../shared/index.js';
import { consumeAnyFail, consumeFail } from './lifetime.js';
import { OK_OBS, dmaFault, fail } from './observe.js';
import { partwayBegin, partwayEnd } from './pagingPartway.js';
import { drainEnd, drainIommu, drainRead, drainRelease } from './pri.js';
import { RID, ridAttach, ridDetach, ridReplace } from './rid.js';
import { PTE_ABSENT, PTE_RO, PTE_RW, type SpecState } from './state.js';

export interface SpecHwpt {
  /** The paging domain exists (the first attach on a platform that has them allocated it). */
  allocated: boolean;
  /** Per IOVA page: PTE_ABSENT, PTE_RO or PTE_RW (the nested HWPT: the guest's stage-1 leaf). */
  readonly pte: Uint8Array;
  /** The nested HWPT only: the GPA page (the parent's IOVA page) each mapped IOVA page points at. */
  readonly gpa: Int32Array;
  /** Content token of each mapped page. */
  readonly token: Int32Array;
  /** Population counters per IOVA page: never reset. */
  readonly gen: Int32Array;
  /** PASID attached at, per dense group; 0 = not attached, RID (-1) = at the group's RID (rid.ts). */
  readonly pasid: Int32Array;
  /**
   * PASID whose entry a replace onto this HWPT has torn down and not yet set up, per dense
   * group; 0 = none. Non-zero only between the two linearization points of a replace (the
   * concurrent oracle, src/harness/group.ts): a quiescent state never holds one.
   */
  readonly settingUp: Int32Array;
  /** SMMUv3: the SMMU the domain was finalised for (smmu_domain->smmu), -1 before; its ASID is in SpecState.asids. */
  iommu: number;
  /** SMMUv3, stage 1: the ASID it took from the global arm_smmu_asid_xa (0: none), released with the domain. */
  asid: number;
}

export const newHwpts = (groups: number): SpecHwpt[] =>
  Array.from({ length: MAX_HWPTS }, () => ({
    allocated: false, pte: new Uint8Array(IOVA_PAGES), gpa: new Int32Array(IOVA_PAGES), token: new Int32Array(IOVA_PAGES),
    gen: new Int32Array(IOVA_PAGES), pasid: new Int32Array(groups), settingUp: new Int32Array(groups), iommu: -1, asid: 0,
  }));

export const cloneHwpts = (h: readonly SpecHwpt[]): SpecHwpt[] =>
  h.map((x) => ({
    allocated: x.allocated, pte: x.pte.slice(), gpa: x.gpa.slice(), token: x.token.slice(), gen: x.gen.slice(), pasid: x.pasid.slice(), settingUp: x.settingUp.slice(),
    iommu: x.iommu, asid: x.asid,
  }));

/**
 * Whether the platform's driver allocates paging domains for iommufd (domain_alloc_paging_flags)
 * and attaches them at a PASID: VT-d and SMMUv3 do; AMD has none at a PASID, so the core
 * answers -EOPNOTSUPP.
 */
export const hasPagingDomains = (p: Platform): boolean => {
  switch (p) {
    case 'vtd':
    case 'smmuv3':
      return true;
    case 'amd':
      // AMD has no counterpart: only amd_sva_domain_ops (amd/pasid.c, v6.19-rc) has
      // set_dev_pasid; its paging domains' ops (amd/iommu.c default_domain_ops) have none, so
      // iommu_attach_device_pasid answers -EOPNOTSUPP as it does where allocation is missing.
      return false;
    default: {
      const never: never = p;
      throw new Error(`hasPagingDomains: ${String(never)}`);
    }
  }
};

/** The HWPT attached at (group, pasid), or undefined. */
export const pagingAt = (s: SpecState, group: number, pasid: number): number | undefined => {
  if (pasid === 0) return undefined;
  for (let h = 0; h < s.hwpts.length; h++) if (s.hwpts[h]!.pasid[group] === pasid) return h;
  return undefined;
};

/** A paging domain holds (group, pasid) in the group's pasid_array. */
export const pagingHolds = (s: SpecState, group: number, pasid: number): boolean => pagingAt(s, group, pasid) !== undefined;

/** The SVA handle of some mm holds (group, pasid). */
const svaHolds = (s: SpecState, group: number, pasid: number): boolean => {
  for (const sl of s.slots) if (sl.handles[group] !== undefined && sl.pasid.ctx.pasid === pasid) return true;
  return false;
};

/**
 * The fallible calls of the driver's set_dev_pasid for a paging domain (fault injection). No
 * IOPF: a paging domain has no fault handler. Any one of them may be the failing call at any
 * PASID-capable device of the group; the driver unwinds its own steps and the core the devices
 * before it, so the attachment is as before.
 * - VT-d (intel_iommu_set_dev_pasid): domain_add_dev_pasid's kzalloc, the domain's qi_batch and
 *   cache tags, and a PASID-table leaf for the entry.
 * - SMMUv3 (arm_smmu_set_pasid): arm_smmu_alloc_cd_ptr's CD table (kcalloc, dma_alloc_coherent)
 *   and leaf, then arm_smmu_attach_prepare's master_domain.
 */
const PAGING_SET_SITES: Readonly<Record<'vtd' | 'smmuv3', ReadonlySet<FailSite>>> = {
  vtd: new Set<FailSite>([
    'kzalloc@domain_add_dev_pasid', 'kzalloc@domain_qi_batch_alloc', 'kzalloc@cache_tag_assign',
    'iommu_alloc_pages_node@intel_pasid_get_entry',
  ]),
  smmuv3: new Set<FailSite>([
    'kcalloc@arm_smmu_alloc_cd_tables', 'dma_alloc_coherent@arm_smmu_alloc_cd_tables',
    'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table', 'kzalloc@arm_smmu_attach_prepare',
  ]),
};

const pagingPlatform = (s: SpecState): 'vtd' | 'smmuv3' => (s.t.topology.platform === 'vtd' ? 'vtd' : 'smmuv3');

/** An injected failure in set_dev_pasid: the errno its caller returns, else undefined. */
const setDevPasidError = (s: SpecState): Errno | undefined => {
  const site = consumeAnyFail(s, PAGING_SET_SITES[pagingPlatform(s)]);
  return site === undefined ? undefined : failSiteInfo(site).errno;
};

/**
 * set_dev_pasid for each PASID-capable device of the group, in order. SMMUv3's
 * arm_smmu_s1_set_dev_pasid first refuses a master of another SMMU than the one the domain was
 * finalised for, and then any domain that is not stage 1 (-EINVAL both), before any allocation.
 */
const groupSetError = (s: SpecState, hwpt: number, group: number, done: number[] = []): Errno | undefined => {
  if (s.t.topology.platform !== 'smmuv3') {
    // VT-d: __iommu_set_group_pasid attaches each PASID-capable device in turn; a failure
    // unwinds the ones attached before it with the blocked domain, whose teardown drains a PRI
    // device's IOMMU as a detach does (detachPasid).
    for (const d of s.t.groupDevs[group]!) {
      if (s.t.devMax[d] === 0) continue;
      const e = setDevPasidError(s);
      if (e !== undefined) {
        drainDetached(s, group, done);
        return e;
      }
      done.push(d);
    }
    return undefined;
  }
  for (const d of s.t.groupDevs[group]!) {
    if (s.t.devMax[d] === 0) continue;
    // The domain's SMMU, then its stage: HWPT 0 is a stage-2 nest parent, never at a PASID.
    if (s.t.topology.devices[d]!.iommu !== s.hwpts[hwpt]!.iommu || hwpt === 0) return 'EINVAL';
    const e = setDevPasidError(s);
    if (e !== undefined) return e;
    done.push(d);
  }
  return undefined;
};

/** ida/xa_alloc of the lowest free id in [min, max], or -1. */
const allocLowest = (used: ReadonlySet<number>, min: number, max: number): number => {
  for (let id = min; id <= max; id++) if (!used.has(id)) return id;
  return -1;
};

/**
 * iommu_paging_domain_alloc_flags for HWPT `hwpt`'s first use, by dev (IOMMU_HWPT_ALLOC_NEST_PARENT
 * for HWPT 0). VT-d always allocates (first stage, or second stage for the nest parent).
 * SMMUv3 (arm_smmu_domain_alloc_paging_flags): the kzalloc, then the nest parent is stage 2
 * (the emulated SMMU has ARM_SMMU_FEAT_NESTING) with a VMID; a plain domain is stage 1 and
 * takes an ASID from the global arm_smmu_asid_xa in [1, 2^asid_bits - 1] of dev's SMMU
 * (-EBUSY when none is free), kept while the HWPT lives. Either is tied to dev's SMMU.
 */
export const hwptAlloc = (s: SpecState, dev: number, hwpt: number): Errno | undefined => {
  if (hwpt === NESTED_HWPT) {
    // The VMM allocates the nest parent first (iommufd_hwpt_nested_alloc needs it); only VT-d
    // has domain_alloc_nested for a PASID's nested domain (SMMUv3 and AMD nest under a vIOMMU).
    const p = hwptAlloc(s, dev, NEST_PARENT_HWPT);
    if (p !== undefined) return p;
    if (s.t.topology.platform !== 'vtd') return 'EOPNOTSUPP';
  }
  const h = s.hwpts[hwpt]!;
  if (h.allocated) return undefined;
  if (s.t.topology.platform === 'smmuv3') {
    if (consumeFail(s, 'kzalloc@arm_smmu_domain_alloc')) return 'ENOMEM';
    const iommu = s.t.topology.devices[dev]!.iommu;
    // The nest parent's VMID comes from the SMMU's own 16-bit vmid_map: never exhausted here.
    if (hwpt !== 0) {
      const asid = allocLowest(s.asids, 1, 2 ** s.t.topology.iommus[iommu]!.asidBits - 1);
      if (asid < 0) return 'EBUSY';
      s.asids.add(asid);
      h.asid = asid;
    }
    h.iommu = iommu;
  }
  h.allocated = true;
  return undefined;
};

/**
 * Whether `hwpt`'s first use still has to allocate it. In a group that allocation is a
 * linearization point of its own (spec/points.ts): it stands in for the VMM's IOMMU_HWPT_ALLOC,
 * an ioctl before the attach, so a bind may take an ASID between the two.
 */
export const hwptUnallocated = (s: SpecState, hwpt: number): boolean =>
  hasPagingDomains(s.t.topology.platform) && !s.hwpts[hwpt]!.allocated;

/** That allocation point: its failure, or undefined when the command goes on to its attach. */
export const hwptAllocPoint = (s: SpecState, dev: number, hwpt: number): Observation | undefined => {
  const a = hwptAlloc(s, dev, hwpt);
  return a === undefined ? undefined : fail(a);
};

/** iommufd's handle allocations, before the core's attach and replace (iommufd/device.c v7.0). */
export const ATTACH_HANDLE: FailSite = 'kzalloc@iommufd_hwpt_attach_device';
export const REPLACE_HANDLE: FailSite = 'kzalloc@iommufd_hwpt_replace_device';

/**
 * iommu_attach_device_pasid's checks for a paging domain (PASID 0 is the RID's: rid.ts): range, then xa_insert
 * (-EBUSY on a held slot, else its node allocation may fail), then the driver's set_dev_pasid.
 */
const attachError = (s: SpecState, hwpt: number, group: number, pasid: number, done: number[]): Errno | undefined => {
  for (const d of s.t.groupDevs[group]!) {
    const max = s.t.devMax[d]!;
    if (max > 0 && pasid >= max) return 'EINVAL';
  }
  if (svaHolds(s, group, pasid) || pagingHolds(s, group, pasid)) return 'EBUSY';
  if (consumeFail(s, 'xa_insert@iommu_attach_device_pasid')) return 'ENOMEM';
  return groupSetError(s, hwpt, group, done);
};

/**
 * The HWPT's first use allocates it; the nested HWPT's allocates its parent first (the VMM's
 * IOMMU_HWPT_ALLOC of the nest parent, then the nested one with pt_id = the parent). On VT-d
 * neither allocation can fail here (SLTS and nesting are supported, and neither is a fault
 * injection site).
 */
/**
 * attachPasid(dev, hwpt, pasid). Precondition: hwpt is not attached to dev's group. Where the
 * driver has no paging domains at a PASID it has no nested ones either: SMMUv3 and AMD nest only
 * under a vIOMMU (no domain_alloc_nested in their iommu_ops, so iommufd_hwpt_nested_alloc is
 * -EOPNOTSUPP), and their nested domains have no set_dev_pasid (arm_smmu_nested_ops,
 * amd nested_domain_ops), which iommu_attach_device_pasid answers with -EOPNOTSUPP.
 */
export const attachPasid = (s: SpecState, dev: number, hwpt: number, pasid: number): Observation =>
  attachPasidTry(s, dev, hwpt, pasid) ?? attachPasidUnwound(s, dev);

/**
 * attachPasid up to its result, or undefined when set_dev_pasid failed past the group's first
 * PASID device: the devices before it hold the new entry until the rollback
 * (pagingPartway.ts), which attachPasidUnwound ends.
 */
export const attachPasidTry = (s: SpecState, dev: number, hwpt: number, pasid: number): Observation | undefined => {
  if (!hasPagingDomains(s.t.topology.platform)) return fail('EOPNOTSUPP');
  if (pasid === 0) return ridAttach(s, dev, hwpt);
  const h = s.hwpts[hwpt]!;
  const a = hwptAlloc(s, dev, hwpt);
  if (a !== undefined) return fail(a);
  if (consumeFail(s, ATTACH_HANDLE)) return fail('ENOMEM');
  const group = s.t.devGroup[dev]!;
  const done: number[] = [];
  const e = attachError(s, hwpt, group, pasid, done);
  if (e !== undefined && done.length > 0) {
    partwayBegin(s, group, pasid, done, -1, hwpt, e);
    return undefined;
  }
  if (e !== undefined) return fail(e);
  h.pasid[group] = pasid;
  return { ok: true, value: pasid };
};

/** The rollback of an attach or replace that failed partway: its errno. */
export const attachPasidUnwound = (s: SpecState, dev: number): Observation => fail(partwayEnd(s, s.t.devGroup[dev]!)!);

/**
 * detachPasid(dev, hwpt): every PASID-capable device of the group is torn down; the teardown
 * of a PRI device with IOPF enabled (an SVA handle on its group enabled it) drains its IOMMU's
 * page requests (none is for this PASID: only SVA accesses send them), so every retry there
 * can still complete.
 */
export const detachPasid = (s: SpecState, dev: number, hwpt: number): Observation => {
  s.retired.length = 0;
  const group = s.t.devGroup[dev]!;
  if (s.hwpts[hwpt]!.pasid[group] === RID) return ridDetach(s, dev, hwpt);
  drainDetached(s, group, s.t.groupDevs[group]!);
  s.hwpts[hwpt]!.pasid[group] = 0;
  return OK_OBS;
};

/**
 * Whether the group's PRI devices have IOPF on: only an SVA attach turns it on (on each
 * PASID-capable device of the group), and it stays on while an SVA handle of the group lives.
 */
const iopfOn = (s: SpecState, group: number): boolean => s.slots.some((sl) => sl.handles[group] !== undefined);

/**
 * The PASID (or RID) teardown of `devs` in `group`: the drain of each PRI device whose IOPF is
 * on (intel_iommu_drain_pasid_prq returns at once for any other), so never of a device without
 * PASID support.
 */
export const drainDetached = (s: SpecState, group: number, devs: readonly number[]): void => {
  if (s.prq.length === 0 || !iopfOn(s, group)) return;
  for (const d of devs) if (s.t.devPri[d] && s.t.devMax[d]! > 0) drainIommu(s, d, -1);
};

/**
 * Whether the platform's mainline replace has a window in which the PASID has no present
 * entry, so that a concurrent DMA may fault as non-present:
 * - VT-d: yes. Since c3b1edea3791 (v7.0-rc1) intel_iommu_set_dev_pasid's replace tears the old
 *   entry down (P cleared, PASID cache, IOTLB and device TLB flushed) and only then writes the
 *   new one, P last (pasid.c: intel_pasid_tear_down_entry, then intel_pasid_setup_*).
 * - SMMUv3: yes: arm_smmu_write_cd_entry's entry writer (arm_smmu_write_entry, v7.0-rc5)
 *   is hitless only when one qword's used bits change; a CD-to-CD switch changes ASID (qword 0)
 *   and TTB0 (qword 1), so it first writes V = 0 and syncs: a breaking update.
 * - AMD: no. A GCR3 entry is one 64-bit store (amd/pasid.c via update_gcr3: set_gcr3), and AMD
 *   has no paging domains at a PASID here either (hasPagingDomains).
 */
export const replaceHasWindow = (p: Platform): boolean => {
  switch (p) {
    case 'vtd':
    case 'smmuv3':
      return true;
    case 'amd':
      return false;
    default: {
      const never: never = p;
      throw new Error(`replaceHasWindow: ${String(never)}`);
    }
  }
};

/**
 * replacePasid's first linearization point: the HWPT's domain is allocated on first use, and
 * the driver's set_dev_pasid allocates before it touches the old entry (a failure there leaves
 * the PASID on `from`, nothing torn down); VT-d then tears the old entry down, which drains as
 * a detach does, and SMMUv3's breaking CD update clears V first. Returns the failure, or undefined
 * when the PASID is now between the two HWPTs (settingUp), or when set_dev_pasid failed past the
 * group's first PASID device (pagingPartway.ts; replaceSetup then returns the failure).
 */
export const replaceTeardown = (s: SpecState, dev: number, hwpt: number, from: number, drainSplit = false): Observation | undefined => {
  const group = s.t.devGroup[dev]!;
  const pasid = s.hwpts[from]!.pasid[group]!;
  s.retired.length = 0;
  const a = hwptAlloc(s, dev, hwpt);
  if (a !== undefined) return fail(a);
  if (consumeFail(s, REPLACE_HANDLE)) return fail('ENOMEM');
  const done: number[] = [];
  const e = groupSetError(s, hwpt, group, done);
  if (e !== undefined && done.length > 0) {
    // The devices before the failing one were replaced and are replaced back (pagingPartway.ts).
    partwayBegin(s, group, pasid, done, from, hwpt, e);
    return undefined;
  }
  if (e !== undefined) return fail(e);
  // SMMUv3's replace (arm_smmu_set_pasid with the old domain) rewrites the CD in place and
  // tears nothing down, so nothing is drained; VT-d's tears the old entry down as a detach does.
  if (s.t.topology.platform === 'smmuv3' || drainSplit) s.hwpts[from]!.pasid[group] = 0;
  else detachPasid(s, dev, from);
  s.hwpts[hwpt]!.settingUp[group] = pasid;
  return undefined;
};

/**
 * A concurrent VT-d replace's drain of its old entry, as points of its own (points.ts
 * drainSplits): the fault thread's first pass (pri.ts drainRead), where drainDetached would
 * drain, that is once an SVA handle on the group has turned the device's IOPF on.
 */
export const replaceDrainRead = (s: SpecState, dev: number): void => {
  s.retired.length = 0;
  if (!iopfOn(s, s.t.devGroup[dev]!)) return;
  drainRead(s, dev);
  s.replaceDraining = dev;
};

/** The drain's thread writes PQH (pri.ts drainRelease), where replaceDrainRead ran. */
export const replaceDrainRelease = (s: SpecState, dev: number): void => {
  if (s.replaceDraining === dev) drainRelease(s, dev);
};

/** The drain ends (pri.ts drainEnd): the re-run, then the work items; no retry is for the PASID. */
export const replaceDrainEnd = (s: SpecState, dev: number): void => {
  if (s.replaceDraining !== dev) return;
  drainEnd(s, dev, -1, [dev]);
  s.replaceDraining = -1;
};

/** replacePasid's second linearization point: the new entry is present (P set). */
export const replaceSetup = (s: SpecState, dev: number, hwpt: number): Observation => {
  const group = s.t.devGroup[dev]!;
  const failed = partwayEnd(s, group);
  if (failed !== undefined) return fail(failed);
  const h = s.hwpts[hwpt]!;
  h.pasid[group] = h.settingUp[group]!;
  h.settingUp[group] = 0;
  return OK_OBS;
};

/** The PASID of `group` a replace has torn down and not yet set up, or undefined. */
export const settingUpAt = (s: SpecState, group: number, pasid: number): number | undefined => {
  if (pasid === 0) return undefined;
  for (let h = 0; h < s.hwpts.length; h++) if (s.hwpts[h]!.settingUp[group] === pasid) return h;
  return undefined;
};

/** replacePasid(dev, hwpt, from) as one atomic step: both points back to back. */
export const replacePasid = (s: SpecState, dev: number, hwpt: number, from: number): Observation => {
  if (s.hwpts[from]!.pasid[s.t.devGroup[dev]!] === RID) return ridReplace(s, dev, hwpt, from);
  return replaceTeardown(s, dev, hwpt, from) ?? replaceSetup(s, dev, hwpt);
};

/** iommuMap(hwpt, page, write): a fresh buffer, read-only or read-write. */
export const iommuMap = (s: SpecState, hwpt: number, page: number, write: boolean): Observation => {
  const h = s.hwpts[hwpt]!;
  h.gen[page] = h.gen[page]! + 1;
  h.token[page] = iovaToken(hwpt, page, h.gen[page]!);
  h.pte[page] = write ? PTE_RW : PTE_RO;
  return OK_OBS;
};

export const iommuUnmap = (s: SpecState, hwpt: number, page: number): Observation => {
  s.hwpts[hwpt]!.pte[page] = PTE_ABSENT;
  return OK_OBS;
};

/**
 * dmaIova(dev, hwpt, page, write). Precondition: hwpt attached to dev's group; dev without PRI.
 * Through the nested HWPT the access is the composition of both stages (VT-d spec 3.8): the
 * guest's leaf for the IOVA page names a GPA page, which the parent maps to a buffer; a write
 * needs write permission at both. The guest's table pages are always reachable (guest RAM the
 * VMM keeps mapped), so only the leaves decide.
 */
export const dmaIova = (s: SpecState, dev: number, hwpt: number, page: number, write: boolean): Observation => {
  // At the RID the access carries no PASID: any device can make it.
  if (s.t.devMax[dev] === 0 && s.hwpts[hwpt]!.pasid[s.t.devGroup[dev]!] !== RID) return dmaFault('no PASID capability');
  return iovaWalk(s, hwpt, page, write);
};

/** HWPT hwpt's translation of IOVA page `page`, the nested one's through its parent. */
const iovaWalk = (s: SpecState, hwpt: number, page: number, write: boolean): Observation => {
  const h = s.hwpts[hwpt]!;
  const pte = page < IOVA_PAGES ? h.pte[page]! : PTE_ABSENT;
  if (pte === PTE_ABSENT) return dmaFault('IOVA not mapped');
  if (write && pte !== PTE_RW) return dmaFault('IOVA read-only');
  if (hwpt !== NESTED_HWPT) return { ok: true, value: h.token[page]! };
  return iovaWalk(s, NEST_PARENT_HWPT, h.gpa[page]!, write);
};

/** guestMap(page, gpa, write): the guest's stage-1 leaf. */
export const guestMap = (s: SpecState, page: number, gpa: number, write: boolean): Observation => {
  const h = s.hwpts[NESTED_HWPT]!;
  h.pte[page] = write ? PTE_RW : PTE_RO;
  h.gpa[page] = gpa;
  return OK_OBS;
};

/** guestUnmap(page): the leaf goes and its invalidation succeeds; the page no longer translates. */
export const guestUnmap = (s: SpecState, page: number): Observation => {
  s.hwpts[NESTED_HWPT]!.pte[page] = PTE_ABSENT;
  return OK_OBS;
};

/**
 * destroyHwpt(hwpt). Precondition: allocated. iommufd_object_remove answers -EBUSY while an
 * attachment holds the HWPT (in any group, or between a replace's two points), and for the
 * nest parent while the nested HWPT holds it. Otherwise the domain is freed (SMMUv3: its ASID
 * goes back to arm_smmu_asid_xa), and:
 * - a paging HWPT's IOAS goes with it: no IOVA page is mapped any more, and the nest parent's
 *   IOAS held the guest's RAM, so the guest's stage-1 leaves go too;
 * - the nested HWPT's leaves stay: they are the guest's, in guest RAM the parent still maps.
 * Sources: iommufd/main.c: iommufd_destroy; iommufd/hw_pagetable.c: iommufd_hwpt_paging_destroy,
 * iommufd_hwpt_nested_destroy; arm-smmu-v3.c: arm_smmu_domain_free_paging (v7.0-rc5).
 */
export const destroyHwpt = (s: SpecState, hwpt: number): Observation => {
  const h = s.hwpts[hwpt]!;
  if (h.pasid.some((p) => p !== 0) || h.settingUp.some((p) => p !== 0)) return fail('EBUSY');
  if (hwpt === NEST_PARENT_HWPT && s.hwpts[NESTED_HWPT]!.allocated) return fail('EBUSY');
  h.allocated = false;
  h.iommu = -1;
  if (h.asid !== 0) s.asids.delete(h.asid);
  h.asid = 0;
  if (hwpt === NESTED_HWPT) return OK_OBS;
  h.pte.fill(PTE_ABSENT);
  if (hwpt === NEST_PARENT_HWPT) s.hwpts[NESTED_HWPT]!.pte.fill(PTE_ABSENT);
  return OK_OBS;
};
