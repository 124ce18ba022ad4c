/**
 * drivers/iommu/iommu.c (v6.17): PASID attachment of a domain to a device's group. The group's
 * pasid_array is the source of truth for "what is attached at this PASID": attach reserves the
 * slot (XA_ZERO_ENTRY), programs every PASID-capable device of the group through the domain's
 * set_dev_pasid, and only then stores the entry ("The new domain cannot be visible until the
 * operation succeeds as we cannot tolerate PRIs becoming concurrently queued and then failing
 * attach"). Detach goes through the driver's blocking domain. Every entry point runs under
 * the group's mutex (&group->mutex), as the C's; the pasid_array stores are yield points, since
 * the fault-reporting threads read the array without that mutex (iommu_attach_handle_get).
 */
import { mutex_init, mutex_lock, mutex_unlock, type Mutex } from './locking.js';
import { type Co, preemptPoint, preempting } from './sched.js';
import type { Errno } from '../../shared/index.js';
import { coreOf, warn } from './kernel.js';
import { mmdrop } from './mm.js';
import type { IommuOps } from './ops.js';
import type { Device, DomainType, IommuDomain, IommuGroup, IommuSva, Kernel, PasidArrayEntry } from './types.js';

/** A C ops member may be NULL; the TS types say required, so look at run time. */
const hasOp = (f: unknown): boolean => typeof f === 'function';

/** IOMMU_NO_PASID. */
export const IOMMU_NO_PASID = 0;

/** drivers/iommu/iommu.c: domain_iommu_ops_compatible (v7.0): same driver, or one of its static domains. */
export function domain_iommu_ops_compatible(ops: IommuOps, domain: IommuDomain): boolean {
  return domain.owner === ops || domain === ops.blocked_domain || domain === ops.identity_domain;
}

/** struct iommu_group's mutex, made with the group (lockdep class "&group->mutex"). */
const groupMutexes = new WeakMap<IommuGroup, Mutex>();
export function groupMutex(group: IommuGroup, kernel: Kernel): Mutex {
  let m = groupMutexes.get(group);
  if (m === undefined) groupMutexes.set(group, (m = mutex_init(kernel, '&group->mutex')));
  return m;
}

const XA_INSERT = preemptPoint('xa_insert(&group->pasid_array, XA_ZERO_ENTRY)');
const XA_STORE = preemptPoint('xa_store(&group->pasid_array)');
const XA_ERASE = preemptPoint('xa_erase(&group->pasid_array)');
const XA_RELEASE = preemptPoint('xa_release(&group->pasid_array)');

/** drivers/iommu/iommu.c: iommu_remove_dev_pasid (v6.17): the blocked domain takes the PASID; must not fail. */
function* iommu_remove_dev_pasid(dev: Device, pasid: number, domain: IommuDomain): Co {
  const blocked = dev.iommu.ops.blocked_domain;
  const ret = yield* blocked.ops.set_dev_pasid(blocked, dev, pasid, domain);
  if (ret !== 0) warn(kernelOf(domain), `blocked set_dev_pasid(dev${dev.id}, ${pasid}) = ${ret}`);
}

/**
 * B16: before b3f6fcd8404f ("iommu: Skip PASID validation for devices without PASID
 * capability", 2025) the group loops of set, rollback and remove had no `max_pasids > 0` test:
 * every device of the group got set_dev_pasid. The fault reproduces the state Tushar Dave's
 * first version of that patch reached (validation relaxed, loops unchanged), which Gunthorpe
 * answered with "it doesn't fail, but it corrupts memory in the driver": arm_smmu_set_pasid
 * trusts "The core code validates pasid" and indexes a CD table sized for no PASID.
 */
const skipsNoPasidDevices = (domain: IommuDomain): boolean => kernelOf(domain).fault !== 'B16';

/**
 * drivers/iommu/iommu.c: __iommu_set_group_pasid (v6.17): program each PASID-capable device;
 * on failure undo the devices already done (to `old`, or through the blocking domain).
 */
function* __iommu_set_group_pasid(domain: IommuDomain, group: IommuGroup, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const devs = group.devices;
  const skip = skipsNoPasidDevices(domain);
  let failed = -1;
  let ret: Errno | 0 = 0;
  for (let i = 0; i < devs.length; i++) {
    const d = devs[i]!;
    if (d.max_pasids === 0 && skip) continue;
    ret = yield* domain.ops.set_dev_pasid(domain, d, pasid, old);
    if (ret !== 0) {
      failed = i;
      break;
    }
  }
  if (failed < 0) return 0;
  // B40: before b025dea63cde (v6.10-rc1) the caller undid the attach on every group device
  // (__iommu_remove_group_pasid), the failed one and those never tried included.
  const undo = kernelOf(domain).fault === 'B40' ? devs.length : failed;
  for (let i = 0; i < undo; i++) {
    const d = devs[i]!;
    if (d.max_pasids === 0 && skip) continue;
    // "it is a driver bug to fail attaching with a previously good domain"
    if (old === undefined || warnIf(domain, yield* old.ops.set_dev_pasid(old, d, pasid, domain), d, pasid)) {
      yield* iommu_remove_dev_pasid(d, pasid, domain);
    }
  }
  return ret;
}

function warnIf(domain: IommuDomain, ret: Errno | 0, d: Device, pasid: number): boolean {
  if (ret !== 0) warn(kernelOf(domain), `rollback set_dev_pasid(dev${d.id}, ${pasid}) = ${ret}`);
  return ret !== 0;
}

/**
 * drivers/iommu/iommu.c: iommu_attach_device_pasid (v6.17). `handle` (when given) becomes the
 * pasid_array entry and gets handle.domain = domain (iommu_make_pasid_array_entry).
 * Errors: -EOPNOTSUPP (no set_dev_pasid on the domain or the blocked domain), -EINVAL
 * (another driver's domain, PASID 0, PASID beyond a group device's max_pasids), -EBUSY (the
 * PASID is taken in the group), or the driver's set_dev_pasid error.
 *
 * R04: from the attach handle's introduction (v6.11) until 5e9f822c9c68 ("iommu: Swap the
 * order of setting group->pasid_array and calling attach op of iommu drivers", Yi Liu, v6.15)
 * xa_insert stored the handle itself before __iommu_set_group_pasid, and a failed attach
 * xa_erase'd it. Meanwhile the fault path (find_fault_handler → iommu_attach_handle_get) can
 * take the handle and queue a group on the SVA domain's workqueue; the bind then frees the
 * handle and the domain the queued work still points at.
 */
export function* iommu_attach_device_pasid(domain: IommuDomain, dev: Device, pasid: number, handle?: IommuSva): Co<Errno | 0> {
  const group = dev.group;
  const ops = dev.iommu.ops;
  if (!hasOp(domain.ops.set_dev_pasid) || !hasOp(ops.blocked_domain.ops.set_dev_pasid)) return 'EOPNOTSUPP';
  if (!domain_iommu_ops_compatible(ops, domain) || pasid === IOMMU_NO_PASID) return 'EINVAL';
  const mutex = groupMutex(group, kernelOf(domain));
  yield* mutex_lock(mutex);
  const ret = yield* attach_locked(domain, group, pasid, handle);
  yield* mutex_unlock(mutex);
  return ret;
}

/** iommu_attach_device_pasid's body under &group->mutex (the C's out_unlock ladder). */
function* attach_locked(domain: IommuDomain, group: IommuGroup, pasid: number, handle: IommuSva | undefined): Co<Errno | 0> {
  for (const d of group.devices) {
    // Devices without PASID support cannot emit PASID traffic: they do not constrain the group.
    if (d.max_pasids > 0 && pasid >= d.max_pasids) return 'EINVAL';
  }
  let entry: PasidArrayEntry;
  if (handle !== undefined) {
    handle.domain = domain;
    entry = { kind: 'handle', handle };
  } else {
    entry = { kind: 'domain', domain };
  }
  // xa_insert(XA_ZERO_ENTRY): present (even reserved) is -EBUSY.
  if (preempting(kernelOf(domain))) yield XA_INSERT;
  if (group.pasid_array.has(pasid)) return 'EBUSY';
  if (kernelOf(domain).shouldFail('xa_insert@iommu_attach_device_pasid')) return 'ENOMEM'; // the xarray node
  const early = kernelOf(domain).fault === 'R04';
  group.pasid_array.set(pasid, early ? entry : RESERVED);
  const ret = yield* __iommu_set_group_pasid(domain, group, pasid, undefined);
  if (ret !== 0) {
    // xa_release (R04: xa_erase of the handle), under the xarray's spinlock.
    if (preempting(kernelOf(domain))) yield early ? XA_ERASE : XA_RELEASE;
    group.pasid_array.delete(pasid);
    return ret;
  }
  if (early) return 0;
  if (preempting(kernelOf(domain))) yield XA_STORE;
  group.pasid_array.set(pasid, entry); // xa_store: cannot fail, the slot was reserved
  return 0;
}

const RESERVED: PasidArrayEntry = Object.freeze({ kind: 'reserved' });

/** drivers/iommu/iommu.c: pasid_array_entry_to_domain. */
const pasid_array_entry_to_domain = (e: PasidArrayEntry): IommuDomain | undefined =>
  e.kind === 'handle' ? e.handle.domain : e.kind === 'domain' ? e.domain : undefined;

/**
 * drivers/iommu/iommu.c: iommu_replace_device_pasid, as introduced for iommufd in v6.14
 * ("iommu: Introduce a replace API for device pasid", read in the iommu list's patch text; the
 * v7.0 file itself was not re-read: its resetting_domain -EBUSY check for a device in reset is
 * not modelled, as no command resets a device). Only a PASID that holds a domain
 * can be replaced (-EINVAL otherwise); the group's devices go to the new domain with the
 * current one as `old` (the driver's replace branch), and on failure __iommu_set_group_pasid
 * puts the done ones back on it. The pasid_array entry changes only on success. iommufd passes
 * an attach handle; the harness stores the bare domain, as for the attach.
 */
export function* iommu_replace_device_pasid(domain: IommuDomain, dev: Device, pasid: number): Co<Errno | 0> {
  const group = dev.group;
  if (!hasOp(domain.ops.set_dev_pasid)) return 'EOPNOTSUPP';
  if (!domain_iommu_ops_compatible(dev.iommu.ops, domain) || pasid === IOMMU_NO_PASID) return 'EINVAL';
  const mutex = groupMutex(group, kernelOf(domain));
  yield* mutex_lock(mutex);
  const ret = yield* replace_locked(domain, group, pasid);
  yield* mutex_unlock(mutex);
  return ret;
}

/** iommu_replace_device_pasid's body under &group->mutex. */
function* replace_locked(domain: IommuDomain, group: IommuGroup, pasid: number): Co<Errno | 0> {
  const curr = group.pasid_array.get(pasid);
  // xa_cmpxchg(NULL → XA_ZERO_ENTRY) found nothing: "not a replace case".
  if (curr === undefined) return 'EINVAL';
  const curr_domain = pasid_array_entry_to_domain(curr);
  if (curr_domain === undefined) return 'EBUSY'; // a concurrent attach's reservation
  if (curr_domain !== domain) {
    const ret = yield* __iommu_set_group_pasid(domain, group, pasid, curr_domain);
    if (ret !== 0) return ret;
  }
  if (preempting(kernelOf(domain))) yield XA_STORE;
  group.pasid_array.set(pasid, { kind: 'domain', domain });
  return 0;
}

/**
 * drivers/iommu/iommu.c: iommu_detach_device_pasid → __iommu_remove_group_pasid (v6.17):
 * every PASID-capable device of the group goes to the blocking domain, then xa_erase.
 */
export function* iommu_detach_device_pasid(domain: IommuDomain, dev: Device, pasid: number): Co {
  const group = dev.group;
  const skip = skipsNoPasidDevices(domain);
  const mutex = groupMutex(group, kernelOf(domain));
  yield* mutex_lock(mutex);
  for (const d of group.devices) if (d.max_pasids > 0 || !skip) yield* iommu_remove_dev_pasid(d, pasid, domain);
  if (preempting(kernelOf(domain))) yield XA_ERASE;
  group.pasid_array.delete(pasid);
  yield* mutex_unlock(mutex);
}

/**
 * drivers/iommu/iommu.c: iommu_attach_handle_get (v6.17): the handle at (group, PASID);
 * 'ENOENT' when the slot is empty, reserved or holds a bare domain; 'EBUSY' when its domain is
 * not of `type`.
 */
export function iommu_attach_handle_get(group: IommuGroup, pasid: number, type?: DomainType): IommuSva | 'ENOENT' | 'EBUSY' {
  const entry = group.pasid_array.get(pasid);
  if (entry === undefined || entry.kind !== 'handle') return 'ENOENT';
  if (type !== undefined && entry.handle.domain.type !== type) return 'EBUSY';
  return entry.handle;
}

/**
 * drivers/iommu/iommu.c: iommu_domain_free (v6.17), for the SVA cookie: mmdrop(domain->mm),
 * then ops->free. SVA drivers only put their notifier here; their memory goes with
 * free_notifier after the grace period. `freed` marks that the core has let go of it.
 */
export function* iommu_domain_free(domain: IommuDomain): Co {
  const mm = domain.mm;
  if (domain.type === 'SVA' && mm !== undefined) {
    coreOf(mm.kernel).live.domains.delete(domain);
    mmdrop(mm);
  }
  yield* domain.ops.free(domain);
  domain.freed = true;
}

/** The Kernel behind a domain, for WARN records (SVA domains know their mm). */
function kernelOf(domain: IommuDomain): Kernel {
  const mm = domain.mm;
  if (domain.kernel !== undefined) return domain.kernel;
  if (mm === undefined) throw new Error(`WARN on domain ${domain.id} without an mm`);
  return mm.kernel;
}
