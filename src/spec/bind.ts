/**
 * What iommu_sva_bind_device / iommu_sva_unbind_device return and leave behind.
 * Source: drivers/iommu/iommu-sva.c (v6.17), drivers/iommu/iommu.c: iommu_attach_device_pasid,
 * __iommu_set_group_pasid, iommu_alloc_global_pasid, iommu_attach_handle_get; intel/svm.c:
 * intel_svm_domain_alloc, intel_iommu_sva_supported; arm-smmu-v3-sva.c:
 * arm_smmu_sva_domain_alloc; arm-smmu-v3.c: arm_smmu_set_pasid.
 */
import type { Errno, FailSite, Observation } from '../shared/index.js';
import { failSiteInfo } from '../shared/index.js';
import { ATTACH_SITES, attachSetUp, beginAttaching, endAttaching, svaRefuses } from './attaching.js';
import { bondTable, domainTable, pasidTable } from './machines/index.js';
import { tornDown } from './detaching.js';
import { pagingHolds } from './paging.js';
import { consumeAnyFail, consumeFail, discardDomain, freeDomain } from './lifetime.js';
import { fail } from './observe.js';
import { abandonOpen, answerPendingAborts, drainEnd, drainIommu, drainRead, drainRelease, dropPartials, dropPasidPartials } from './pri.js';
import { type SpecDomain, type SpecSlot, type SpecState, inMask } from './state.js';

/** ida_alloc_range(min, max): the smallest free id in [min, max], or -1 (-ENOSPC). */
const idaAllocRange = (used: Set<number>, min: number, max: number): number => {
  for (let id = min; id <= max; id++) if (!used.has(id)) return id;
  return -1;
};

/**
 * __iommu_set_group_pasid's unwind: the group's devices before `failed` were attached and go
 * back through the blocking domain; a PRI device's teardown drains its IOMMU's page requests
 * (none of them for this new PASID, so every retry can complete).
 */
const rollbackDrain = (s: SpecState, devs: readonly number[], failed: number, slot: number): void => {
  const split = inMask(s.bindRollbackSplit, s.t.devGroup[failed]!);
  if (s.prq.length === 0 && !split) return;
  for (const d of devs) {
    if (d === failed) return;
    if (s.t.devMax[d]! === 0 || !s.t.devPri[d]) continue;
    if (!split) {
      drainIommu(s, d, slot);
      continue;
    }
    // The drain as points of its own (points.ts bindRollbackSplits): its first pass now, its
    // PQH write and its end at the bind's next points, where the bind's failure is returned.
    drainRead(s, d);
    s.bindRollback = { dev: d, slot, obs: undefined };
  }
};

/** ops->domain_alloc_sva's fallible calls before the ASID (SMMUv3) and the notifier's. */
const DOMAIN_SITES: Readonly<Record<'vtd' | 'smmuv3', ReadonlySet<FailSite>>> = {
  vtd: new Set<FailSite>(['kzalloc@intel_svm_domain_alloc', 'kzalloc@__mmu_notifier_register']),
  smmuv3: new Set<FailSite>(['kzalloc@arm_smmu_domain_alloc', 'xa_alloc@arm_smmu_sva_domain_alloc']),
  // AMD's two are consumed in call order around the domain ID (domainAlloc).
};

/**
 * iommu_attach_device_pasid(domain, dev, pasid) for dev's whole group; undefined on success.
 * An injected failure in the driver's set_dev_pasid may be at any group device that gets as
 * far as the driver's allocations; the devices before it are undone as for any other error.
 * Devices with max_pasids 0 are skipped both in the range check and in set_dev_pasid (v6.17).
 */
const attachError = (s: SpecState, d: SpecDomain, group: number, pasid: number): Errno | undefined => {
  const { t } = s;
  const devs = t.groupDevs[group]!;
  for (const dev of devs) {
    const max = t.devMax[dev]!;
    if (max > 0 && pasid >= max) return 'EINVAL';
  }
  // xa_insert: iommu_attach_handle_get found no SVA handle at (group, pasid), but an iommufd
  // paging domain may hold the slot (-EBUSY, before any allocation); else it can fail to
  // allocate its node.
  if (pagingHolds(s, group, pasid)) return 'EBUSY';
  if (consumeFail(s, 'xa_insert@iommu_attach_device_pasid')) return 'ENOMEM';
  for (const dev of devs) {
    if (t.devMax[dev]! === 0) continue;
    const spec = t.topology.devices[dev]!;
    if (t.topology.platform === 'vtd') {
      // intel_svm_set_dev_pasid → intel_iommu_sva_supported: PASID and ATS must be enabled,
      // and PRI too when the device supports it (pri here means supported and enabled).
      if (svaRefuses(t, dev)) {
        rollbackDrain(s, devs, dev, d.slot);
        return 'EINVAL';
      }
    } else if (t.topology.platform === 'smmuv3' && d.iommu !== spec.iommu) {
      // arm_smmu_set_pasid: an SMMU SVA domain only attaches to masters of its own SMMU.
      return 'EINVAL';
    }
    // AMD (amd/pasid.c iommu_sva_set_dev_pasid): nothing ties a domain to an IOMMU; the PASID
    // is valid and the device has its GCR3 table (a PASID-capable device always does).
    const site = consumeAnyFail(s, ATTACH_SITES[t.topology.platform]);
    if (site !== undefined) {
      rollbackDrain(s, devs, dev, d.slot);
      return failSiteInfo(site).errno;
    }
  }
  return undefined;
};

/** ops->domain_alloc_sva(dev, mm): a new domain, or the errno it returns. */
const domainAlloc = (s: SpecState, slot: number, dev: number): SpecDomain | Errno => {
  const spec = s.t.topology.devices[dev]!;
  let asid = 0;
  if (s.t.topology.platform === 'vtd') {
    // intel_svm_domain_alloc: intel_iommu_sva_supported(dev) first, then kzalloc.
    if (svaRefuses(s.t, dev)) return 'EINVAL';
    if (consumeAnyFail(s, DOMAIN_SITES.vtd) !== undefined) return 'ENOMEM';
  } else if (s.t.topology.platform === 'amd') {
    // amd_iommu_domain_alloc_sva → protection_domain_alloc: kzalloc, then a domain ID from
    // pdom_ids in [1, MAX_DOMAIN_ID - 1]; either failing is NULL → -ENOMEM. Then
    // mmu_notifier_register (its failure frees the domain and its ID).
    if (consumeFail(s, 'kzalloc@protection_domain_alloc')) return 'ENOMEM';
    const bits = Math.min(...s.t.topology.iommus.map((u) => u.didBits));
    asid = idaAllocRange(s.asids, 1, 2 ** bits - 1);
    if (asid < 0) return 'ENOMEM';
    if (consumeFail(s, 'kzalloc@__mmu_notifier_register')) return 'ENOMEM';
    s.asids.add(asid);
  } else {
    // arm_smmu_sva_domain_alloc: arm_smmu_domain_alloc (kzalloc), then xa_alloc of a private
    // ASID in [1, 2^asid_bits - 1] from the global arm_smmu_asid_xa; xa_alloc → -EBUSY when
    // full, -ENOMEM when it cannot grow; then the notifier (err_asid: the ASID is erased).
    if (consumeAnyFail(s, DOMAIN_SITES.smmuv3) !== undefined) return 'ENOMEM';
    const bits = s.t.topology.iommus[spec.iommu]!.asidBits;
    asid = idaAllocRange(s.asids, 1, 2 ** bits - 1);
    if (asid < 0) return 'EBUSY';
    if (consumeFail(s, 'kzalloc@__mmu_notifier_register')) return 'ENOMEM';
    s.asids.add(asid);
  }
  // mmu_notifier_register then mmgrab: the domain now pins mm_count.
  return { slot, iommu: spec.iommu, asid, groups: [], m: domainTable.create() };
};

/**
 * iommu_sva_bind_device(dev, mm), up to and including its attempts on the mm's existing
 * domains: the observation, or undefined when it goes on to allocate a new domain (bindNew).
 * Each attempt is an iommu_attach_device_pasid of its own under &group->mutex, so in a group an
 * iommufd attach may take the PASID between the attempts and the allocation (spec/points.ts).
 * Precondition: the slot is live.
 */
export const bindExisting = (s: SpecState, dev: number, slot: number): Observation | undefined => {
  const { t } = s;
  const sl: SpecSlot = s.slots[slot]!;
  const cov = s.coverage;
  const failed = bindPasid(s, dev, slot);
  if (failed !== undefined) return failed;
  const pasid = sl.pasid.ctx.pasid;

  // iommu_attach_handle_get(group, pasid, SVA): the group's handle is shared (refcount_inc).
  const group = t.devGroup[dev]!;
  const bond = s.bonds[dev * t.topology.mms + slot]!;
  const h = sl.handles[group];
  if (h !== undefined) {
    h.users += 1;
    bondTable.send(bond, { type: 'bind' }, cov);
    return { ok: true, value: pasid };
  }

  if (consumeFail(s, 'kzalloc@iommu_sva_bind_device')) return fail('ENOMEM');

  // Try every existing domain of the mm (newest first); any error just moves on.
  for (const d of sl.domains) {
    if (attachError(s, d, group, pasid) === undefined) {
      domainTable.send(d.m, { type: 'attach' }, cov);
      return bound(s, dev, slot, d);
    }
  }
  return undefined;
};

/**
 * iommu_alloc_mm_data, the first step of iommu_sva_bind_device under iommu_sva_lock: reuse
 * iommu_mm (-EOVERFLOW if its PASID is beyond this device), or kzalloc it and take a PASID;
 * never rolled back when a later step fails. The failure, or undefined.
 */
export const bindPasid = (s: SpecState, dev: number, slot: number): Observation | undefined => {
  const sl: SpecSlot = s.slots[slot]!;
  const max = s.t.devMax[dev]!;
  let pasid = sl.pasid.ctx.pasid;
  if (pasid !== 0) return pasid >= max ? fail('EOVERFLOW') : undefined;
  if (consumeFail(s, 'kzalloc@iommu_alloc_mm_data')) return fail('ENOMEM');
  // iommu_alloc_global_pasid: max_pasids 0 means no PASID at all; ida_alloc_range's -ENOMEM,
  // like a full range, is IOMMU_PASID_INVALID and so -ENOSPC.
  pasid = max === 0 ? -1 : consumeFail(s, 'ida_alloc_range@iommu_alloc_global_pasid') ? -1 : idaAllocRange(s.pasids, 1, max - 1);
  if (pasid < 0) return fail('ENOSPC');
  s.pasids.add(pasid);
  pasidTable.send(sl.pasid, { type: 'assign', pasid }, s.coverage);
  return undefined;
};

/** The rest of iommu_sva_bind_device: a new domain for dev, attached at the mm's PASID. */
export const bindNew = (s: SpecState, dev: number, slot: number): Observation => {
  const group = s.t.devGroup[dev]!;
  const sl = s.slots[slot]!;
  const d = domainAlloc(s, slot, dev);
  if (typeof d === 'string') return fail(d);
  const e = attachError(s, d, group, sl.pasid.ctx.pasid);
  if (e !== undefined) {
    discardDomain(s, d);
    return fail(e);
  }
  domainTable.send(d.m, { type: 'alloc' }, s.coverage);
  sl.domains.unshift(d);
  return bound(s, dev, slot, d);
};

/** The handle of (group, mm) on `domain`: the bind succeeded. */
const bound = (s: SpecState, dev: number, slot: number, domain: SpecDomain): Observation => {
  const group = s.t.devGroup[dev]!;
  const sl = s.slots[slot]!;
  domain.groups.push(group);
  sl.handles[group] = { domain, users: 1 };
  bondTable.send(s.bonds[dev * s.t.topology.mms + slot]!, { type: 'bind' }, s.coverage);
  return { ok: true, value: sl.pasid.ctx.pasid };
};

/**
 * In a group, where the bind's next attempt, on the mm's domains (`existing`) or on a new one,
 * has set up the first `upTo` of the devices it sets up (attaching.ts attachSetUp): all of them
 * with the handle not yet published, or those before the one it stops at. bindExisting or
 * bindNew then makes the attempt, and publishes or unwinds.
 */
export const bindSetUp = (s: SpecState, dev: number, slot: number, existing: boolean, upTo: number): undefined => {
  const group = s.t.devGroup[dev]!;
  const sl = s.slots[slot]!;
  const pasid = sl.pasid.ctx.pasid;
  if (pasid === 0 || pasid >= s.t.devMax[dev]! || sl.handles[group] !== undefined) return undefined;
  // The new domain's: intel_svm_domain_alloc refuses a device without ATS before any attach.
  // The existing ones': on SMMUv3 only a domain of the group's SMMU gets past the first device.
  if (existing ? !sl.domains.some((d) => reachesDevices(s, d, dev)) : svaRefuses(s.t, dev)) return undefined;
  const devs = attachSetUp(s, group, pasid);
  endAttaching(s, group);
  if (devs !== undefined) beginAttaching(s, group, slot, devs.length > upTo ? devs.slice(0, upTo) : devs);
  return undefined;
};

/** Whether an attempt on `d` gets to dev's group's set_dev_pasid calls: arm_smmu_set_pasid refuses another SMMU's domain first. */
const reachesDevices = (s: SpecState, d: SpecDomain, dev: number): boolean =>
  s.t.topology.platform !== 'smmuv3' || d.iommu === s.t.topology.devices[dev]!.iommu;

/** iommu_sva_bind_device(dev, mm) as one atomic step. Precondition: the slot is live. */
export const bind = (s: SpecState, dev: number, slot: number): Observation => bindExisting(s, dev, slot) ?? bindNew(s, dev, slot);

/**
 * The caller's last unbind of the pair starts with its device no longer using the PASID
 * (uacce_put_queue stops the queue under &uacce->mutex before iommu_sva_unbind_device): the
 * device's open groups there are abandoned. In a group this is a point of its own (spec/points.ts):
 * until the unbind proper, the entry is still present and a device access still translates.
 */
export const unbindStop = (s: SpecState, dev: number, slot: number): void => {
  if (stopsDevice(s, dev, slot) && s.outstanding[dev]! > 0) abandonOpen(s, dev, slot);
};

/**
 * unbindStop as a group's point of its own: from here until the unbind returns (endStopping)
 * the stopped device sends no page-request group at the PASID (src/hw/device.ts stopPasid).
 */
export const unbindStopping = (s: SpecState, dev: number, slot: number): void => {
  if (stopsDevice(s, dev, slot)) s.stopping.push(dev * s.t.topology.mms + slot);
  unbindStop(s, dev, slot);
};

/** The unbind that stopped dev's use of `slot` has returned. */
export const endStopping = (s: SpecState, dev: number, slot: number): void => {
  const i = s.stopping.indexOf(dev * s.t.topology.mms + slot);
  if (i >= 0) s.stopping.splice(i, 1);
};

/** Whether dev's unbind of `slot` is its caller's last of a PRI device (unbindStop then abandons its open groups). */
export const stopsDevice = (s: SpecState, dev: number, slot: number): boolean =>
  s.t.devPri[dev]! && s.bonds[dev * s.t.topology.mms + slot]!.ctx.n === 1;

/**
 * The drain's first pass inside a concurrent unbind that tears its entries down (points.ts
 * drainSplits: dev is its group's one PASID device): the fault thread reads the queue and
 * answers what has no handler (pri.ts drainRead). A no-op for an unbind that is not the last.
 */
export const unbindDrainRead = (s: SpecState, dev: number, slot: number): void => {
  if (!tornDown(s, dev, slot)) return;
  drainRead(s, dev);
  s.draining = dev * s.t.topology.mms + slot;
};

/** The drain's thread writes PQH (pri.ts drainRelease), where unbindDrainRead ran. */
export const unbindDrainRelease = (s: SpecState, dev: number, slot: number): void => {
  if (s.draining === dev * s.t.topology.mms + slot) drainRelease(s, dev);
};

/** iommu_sva_unbind_device on the pair's (group-shared) handle. Precondition: a bond exists. */
export const unbind = (s: SpecState, dev: number, slot: number): void => {
  unbindStop(s, dev, slot);
  unbindHandle(s, dev, slot);
};

/** iommu_sva_unbind_device itself, after unbindStop. */
export const unbindHandle = (s: SpecState, dev: number, slot: number): void => {
  const { t } = s;
  const sl = s.slots[slot]!;
  const cov = s.coverage;
  const bond = s.bonds[dev * t.topology.mms + slot]!;
  bondTable.send(bond, { type: 'unbind' }, cov);
  const group = t.devGroup[dev]!;
  const h = sl.handles[group]!;
  h.users -= 1;
  if (h.users > 0) return;
  // iommu_detach_device_pasid: each PASID-capable device of the group is torn down in turn; a
  // PRI device's teardown ends with the drain of its IOMMU's page requests (pri.ts). A drain
  // whose thread ran its first pass at the unbind's own points (unbindDrainRead) ends here.
  const draining = s.draining === dev * t.topology.mms + slot;
  if (s.prq.length > 0 || draining) {
    const detached: number[] = [];
    for (const d of t.groupDevs[group]!) {
      if (t.devMax[d]! === 0) continue;
      detached.push(d);
      if (t.devPri[d]) {
        if (draining) drainEnd(s, d, slot, detached);
        else drainIommu(s, d, slot, detached);
      }
    }
    s.draining = -1;
  }
  if (s.partial.length > 0) for (const d of t.groupDevs[group]!) if (t.devPri[d] && t.devMax[d]! > 0) dropPasidPartials(s, d, slot);
  // Then --domain->users; at 0 list_del + iommu_domain_free.
  sl.handles[group] = undefined;
  // The group's last IOPF-capable attachment gone: each PRI device leaves its fault queue
  // (iopf_queue_remove_device), its kept partial requests freed and its pending groups answered.
  if ((s.partial.length > 0 || s.servicing.unanswered.length > 0) && s.slots.every((o) => o.handles[group] === undefined)) {
    for (const d of t.groupDevs[group]!) {
      if (!t.devPri[d]) continue;
      dropPartials(s, d);
      answerPendingAborts(s, d);
    }
  }
  const d = h.domain;
  d.groups.splice(d.groups.indexOf(group), 1);
  domainTable.send(d.m, { type: 'detach' }, cov);
  if (d.m.ctx.users === 0) freeDomain(s, d);
};
