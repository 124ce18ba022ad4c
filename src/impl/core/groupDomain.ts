/**
 * drivers/iommu/iommu.c (v7.0): the domain a group's RID traffic is attached to. Every device
 * of the group follows group->domain; changing it calls the new domain's attach_dev on each
 * device in turn with the current domain as `old`, and a failure puts the devices already
 * switched back on the current domain (err_revert). iommufd takes the group's DMA ownership
 * first (the blocking domain), then attaches, replaces and detaches its HWPTs through the
 * attach-handle calls, which keep IOMMU_NO_PASID's pasid_array slot reserved until the domain
 * is in place ("we cannot tolerate PRIs becoming concurrently queued and then failing attach").
 */
import { mutex_lock, mutex_unlock } from './locking.js';
import type { Co } from './sched.js';
import type { Errno } from '../../shared/index.js';
import { warn } from './kernel.js';
import { IOMMU_NO_PASID, domain_iommu_ops_compatible, groupMutex } from './iommu.js';
import type { Device, IommuDomain, IommuGroup, PasidArrayEntry } from './types.js';

/** __iommu_group_set_domain_internal's flag: a revert, which must leave every device attached somewhere. */
const IOMMU_SET_DOMAIN_MUST_SUCCEED = 1;

const RESERVED: PasidArrayEntry = Object.freeze({ kind: 'reserved' });

const kernelOfGroup = (group: IommuGroup) => group.devices[0]!.iommu.kernel;

/** __iommu_attach_device (v7.0): the domain's attach_dev; -ENODEV when it has none. */
function* __iommu_attach_device(domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0> {
  const attach_dev = domain.ops.attach_dev;
  if (attach_dev === undefined) return 'ENODEV';
  return yield* attach_dev(domain, dev, old);
}

/**
 * __iommu_device_set_domain (v7.0). No device here requires a direct mapping and none is
 * attached lazily (attach_deferred), so only the attach and its fallback are left: a revert
 * that fails tries the blocking domain "in hopes of avoiding a UAF".
 */
function* __iommu_device_set_domain(group: IommuGroup, dev: Device, next: IommuDomain, old: IommuDomain | undefined, flags: number): Co<Errno | 0> {
  const ret = yield* __iommu_attach_device(next, dev, old);
  if (ret === 0) return 0;
  const blocking = group.blocking_domain;
  if ((flags & IOMMU_SET_DOMAIN_MUST_SUCCEED) !== 0 && blocking !== undefined && blocking !== next) yield* __iommu_attach_device(blocking, dev, old);
  return ret;
}

/**
 * __iommu_group_set_domain_internal (v7.0): every device to `next`; on a failure the devices
 * before the failing one go back to group->domain (the failing one is left as its driver's
 * unwind left it), and group->domain is unchanged. No command resets a device, so the
 * resetting_domain -EBUSY check is never met.
 */
function* __iommu_group_set_domain_internal(group: IommuGroup, next: IommuDomain, flags: number): Co<Errno | 0> {
  if (group.domain === next) return 0;
  let result: Errno | 0 = 0;
  for (let i = 0; i < group.devices.length; i++) {
    const ret = yield* __iommu_device_set_domain(group, group.devices[i]!, next, group.domain, flags);
    if (ret === 0) continue;
    result = ret;
    if ((flags & IOMMU_SET_DOMAIN_MUST_SUCCEED) !== 0) continue;
    // err_revert: "A well behaved driver should always allow us to attach to a domain that
    // was already attached."
    const current = group.domain;
    if (current !== undefined) {
      for (let j = 0; j < i; j++) {
        const back = yield* __iommu_device_set_domain(group, group.devices[j]!, current, next, IOMMU_SET_DOMAIN_MUST_SUCCEED);
        if (back !== 0) warn(kernelOfGroup(group), `revert of dev${group.devices[j]!.id} to domain ${current.id} = ${back}`);
      }
    }
    return ret;
  }
  group.domain = next;
  return result;
}

const __iommu_group_set_domain = (group: IommuGroup, next: IommuDomain): Co<Errno | 0> => __iommu_group_set_domain_internal(group, next, 0);

/** __iommu_group_set_domain_nofail: WARN if even the must-succeed switch failed. */
function* __iommu_group_set_domain_nofail(group: IommuGroup, next: IommuDomain): Co {
  const ret = yield* __iommu_group_set_domain_internal(group, next, IOMMU_SET_DOMAIN_MUST_SUCCEED);
  if (ret !== 0) warn(kernelOfGroup(group), `__iommu_group_set_domain_nofail(group ${group.id}) = ${ret}`);
}

/** __iommu_group_set_core_domain: back to the blocking domain while owned, else the default one. */
function* __iommu_group_set_core_domain(group: IommuGroup): Co {
  const next = group.owner_cnt > 0 ? group.blocking_domain : group.default_domain;
  if (next === undefined) throw new Error(`group ${group.id} has no core domain`);
  yield* __iommu_group_set_domain_nofail(group, next);
}

/**
 * __iommu_attach_group (v7.0): only from the default or the blocking domain (-EBUSY once
 * another domain is attached: iommufd replaces instead), and only a domain of the group's driver.
 */
function* __iommu_attach_group(domain: IommuDomain, group: IommuGroup): Co<Errno | 0> {
  if (group.domain !== undefined && group.domain !== group.default_domain && group.domain !== group.blocking_domain) return 'EBUSY';
  if (!domain_iommu_ops_compatible(group.devices[0]!.iommu.ops, domain)) return 'EINVAL';
  return yield* __iommu_group_set_domain(group, domain);
}

/**
 * iommu_device_claim_dma_owner → __iommu_take_dma_ownership (v7.0): the first claim needs the
 * group on its default domain with no PASID attached (-EBUSY), then switches it to the
 * blocking domain (the driver's static one: __iommu_group_alloc_blocking_domain); a later
 * claim by the same owner only counts. The harness's one owner is its VMM.
 */
export function* iommu_device_claim_dma_owner(dev: Device): Co<Errno | 0> {
  const group = dev.group;
  const mutex = groupMutex(group, dev.iommu.kernel);
  yield* mutex_lock(mutex);
  const ret = yield* __iommu_take_dma_ownership(group, dev);
  yield* mutex_unlock(mutex);
  return ret;
}

function* __iommu_take_dma_ownership(group: IommuGroup, dev: Device): Co<Errno | 0> {
  if (group.owner_cnt > 0) {
    group.owner_cnt++;
    return 0;
  }
  if ((group.domain !== undefined && group.domain !== group.default_domain) || group.pasid_array.size > 0) return 'EBUSY';
  group.blocking_domain ??= dev.iommu.ops.blocked_domain;
  const ret = yield* __iommu_group_set_domain(group, group.blocking_domain);
  if (ret !== 0) return ret;
  group.owner_cnt++;
  return 0;
}

/**
 * iommu_attach_group_handle (v7.0): reserve IOMMU_NO_PASID's slot, attach, then store the
 * entry. iommufd's handle carries no fault data here, so the harness stores the bare domain,
 * as for its PASID attaches.
 */
export function* iommu_attach_group_handle(domain: IommuDomain, group: IommuGroup): Co<Errno | 0> {
  const mutex = groupMutex(group, kernelOfGroup(group));
  yield* mutex_lock(mutex);
  const ret = yield* attach_group_handle_locked(domain, group);
  yield* mutex_unlock(mutex);
  return ret;
}

/** iommu_attach_group_handle's body under &group->mutex, its goto ladder as returns. */
function* attach_group_handle_locked(domain: IommuDomain, group: IommuGroup): Co<Errno | 0> {
  // xa_insert: -EBUSY on a taken slot, -ENOMEM when its node cannot be allocated.
  if (group.pasid_array.has(IOMMU_NO_PASID)) return 'EBUSY';
  if (kernelOfGroup(group).shouldFail('xa_insert@iommu_attach_group_handle')) return 'ENOMEM';
  group.pasid_array.set(IOMMU_NO_PASID, RESERVED);
  const ret = yield* __iommu_attach_group(domain, group);
  if (ret !== 0) {
    group.pasid_array.delete(IOMMU_NO_PASID); // err_erase
    return ret;
  }
  group.pasid_array.set(IOMMU_NO_PASID, { kind: 'domain', domain });
  return 0;
}

/**
 * iommu_replace_group_handle (v7.0): the group's domain changes with no stop at the blocking
 * domain (each driver's attach_dev decides what the device sees meanwhile); the slot stays
 * reserved (xa_reserve) and takes the new entry on success, keeps the old one on failure.
 */
export function* iommu_replace_group_handle(group: IommuGroup, domain: IommuDomain): Co<Errno | 0> {
  const mutex = groupMutex(group, kernelOfGroup(group));
  yield* mutex_lock(mutex);
  const ret = yield* __iommu_group_set_domain(group, domain);
  if (ret === 0) group.pasid_array.set(IOMMU_NO_PASID, { kind: 'domain', domain });
  yield* mutex_unlock(mutex);
  return ret;
}

/** iommu_detach_group_handle (v7.0): back to the core domain (blocking, for iommufd), then xa_erase. */
export function* iommu_detach_group_handle(_domain: IommuDomain, group: IommuGroup): Co {
  const mutex = groupMutex(group, kernelOfGroup(group));
  yield* mutex_lock(mutex);
  yield* __iommu_group_set_core_domain(group);
  group.pasid_array.delete(IOMMU_NO_PASID);
  yield* mutex_unlock(mutex);
}
