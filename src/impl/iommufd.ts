/**
 * The iommufd side of the paging-domain commands (drivers/iommu/iommufd/, v7.0-rc5, reduced
 * to what reaches the IOMMU core): a HWPT's paging domain is allocated on its first PASID
 * attach (IOMMU_HWPT_ALLOC; HWPT 0 as a nest parent, HWPT 1 plain) and kept until its
 * IOMMU_DESTROY (destroyHwpt); IOAS map/unmap
 * become iommu_map / iommu_unmap of one page backed by a kernel buffer, freed only after the
 * unmap has flushed (iopt_unmap_iova unpins after iommu_unmap returns). HWPT 2 is a nested
 * HWPT over HWPT 0 (IOMMU_HWPT_ALLOC with pt_id = HWPT 0 and IOMMU_HWPT_DATA_VTD_S1), whose
 * stage-1 table the guest writes and invalidates (IOMMU_HWPT_INVALIDATE).
 */
import { type Co, type Task, schedOf, wait } from './core/sched.js';
import type { Errno, Observation } from '../shared/index.js';
import { NESTED_HWPT, NEST_PARENT_HWPT, OK, iovaVpn } from '../shared/index.js';
import { IOMMU_VTD_INV_FLAGS_LEAF, type IommuOps, type IommuUserDataArray } from './core/ops.js';
import { GUEST_S1_LEVELS, GuestS1Table } from './guestS1.js';
import { KERNEL_OWNER } from '../hw/mem.js';
import { IOMMU_NO_PASID, iommu_attach_device_pasid, iommu_detach_device_pasid, iommu_domain_free, iommu_replace_device_pasid } from './core/iommu.js';
import { iommu_attach_group_handle, iommu_detach_group_handle, iommu_device_claim_dma_owner, iommu_replace_group_handle } from './core/groupDomain.js';
import { IOMMU_HWPT_ALLOC_NEST_PARENT } from './core/ops.js';
import { iommu_map, iommu_paging_domain_alloc_flags, iommu_unmap } from './core/paging.js';
import { type Mutex, mutex_init, mutex_lock, mutex_unlock } from './core/locking.js';
import type { Device, IommuDomain, IommuGroup } from './core/types.js';
import type { HwptSlot, World } from './world.js';

const fail = (errno: Errno): Observation => ({ ok: false, errno });

/**
 * The task allocating a HWPT's domain. The lazy allocation stands in for the VMM's one
 * IOMMU_HWPT_ALLOC before any attach, so two attaches (of two groups: &igroup->lock is per
 * group) must not both allocate it: the second waits for the first (a harness rule, no kernel
 * lock, so lockdep learns nothing from it).
 */
const allocating = new WeakMap<HwptSlot, Task>();

/** The HWPT's domain, allocating it for dev on first use. */
function* hwptDomain(world: World, hwpt: number, dev: Device): Co<IommuDomain | Errno> {
  const slot = world.hwpts[hwpt]!;
  if (slot.domain !== undefined) return slot.domain;
  yield* wait(world.kernel, `the VMM's IOMMU_HWPT_ALLOC of hwpt ${hwpt}`, () => !allocating.has(slot), () => allocating.get(slot));
  if (slot.domain !== undefined) return slot.domain;
  allocating.set(slot, schedOf(world.kernel).current);
  try {
    return yield* allocHwptDomain(world, hwpt, dev);
  } finally {
    allocating.delete(slot);
  }
}

function* allocHwptDomain(world: World, hwpt: number, dev: Device): Co<IommuDomain | Errno> {
  const slot = world.hwpts[hwpt]!;
  if (hwpt === NESTED_HWPT) return yield* nestedDomain(world, dev);
  const r = yield* iommu_paging_domain_alloc_flags(dev, hwpt === NEST_PARENT_HWPT ? IOMMU_HWPT_ALLOC_NEST_PARENT : 0);
  if (!r.ok) return r.errno;
  slot.domain = r.value;
  return r.value;
}

/**
 * iommufd/hw_pagetable.c: iommufd_hwpt_nested_alloc (v7.0) for HWPT 2 over HWPT 0 (allocated
 * first if need be, as the VMM does). Before it, the VMM has mapped guest RAM into the parent:
 * here the guest's stage-1 table pages, at their GPAs. -EOPNOTSUPP when the driver has no
 * domain_alloc_nested (SMMUv3 and AMD nest only under a vIOMMU: arm_vsmmu_alloc_domain_nested,
 * amd_iommu_alloc_domain_nested), or already when the parent cannot be allocated (no
 * domain_alloc_paging_flags in those ports).
 */
function* nestedDomain(world: World, dev: Device): Co<IommuDomain | Errno> {
  const slot = world.hwpts[NESTED_HWPT]!;
  const parent = yield* hwptDomain(world, NEST_PARENT_HWPT, dev);
  if (typeof parent === 'string') return parent;
  const alloc = dev.iommu.ops.domain_alloc_nested;
  if (alloc === undefined) return 'EOPNOTSUPP';
  if (slot.guest === undefined) {
    const guest = new GuestS1Table(world.kernel.mem);
    for (const [gpa, frame] of guest.tables) {
      const ret = yield* iommu_map(parent, gpa, frame, true);
      if (ret !== 0) throw new Error(`the VMM's map of guest RAM at GPA page 0x${gpa.toString(16)} failed: ${ret}`);
    }
    slot.guest = guest;
  }
  const r = yield* alloc(dev, parent, 0, { pgtbl_addr: slot.guest.root, addr_width: GUEST_S1_LEVELS === 4 ? 48 : 57, flags: 0 });
  if (!r.ok) return r.errno;
  // hwpt->domain->owner = ops: iommufd, not the driver, names the nested domain's owner.
  (r.value as { owner: IommuOps }).owner = dev.iommu.ops;
  slot.domain = r.value;
  return r.value;
}

/** The guest writes a stage-1 leaf of HWPT 2: IOVA page → GPA page (HWPT 0's IOVA page gpa). */
export function guestMap(world: World, page: number, gpa: number, write: boolean): Observation {
  const guest = world.hwpts[NESTED_HWPT]!.guest;
  if (guest === undefined || guest.lookup(iovaVpn(page)) !== 0) throw new Error(`guestMap(${page}): caller contract`);
  guest.map(iovaVpn(page), iovaVpn(gpa), write);
  return OK;
}

/**
 * The guest clears a stage-1 leaf, then its invalidation arrives as IOMMU_HWPT_INVALIDATE
 * (iommufd_hwpt_invalidate → the nested domain's cache_invalidate_user): one page, LEAF.
 */
export function* guestUnmap(world: World, page: number): Co<Observation> {
  const slot = world.hwpts[NESTED_HWPT]!;
  const guest = slot.guest;
  if (guest === undefined || slot.domain === undefined || guest.unmap(iovaVpn(page)) === 0) throw new Error(`guestUnmap(${page}): caller contract`);
  const inv = slot.domain.ops.cache_invalidate_user;
  if (inv === undefined) return fail('EOPNOTSUPP');
  const array: IommuUserDataArray = {
    type: 'IOMMU_HWPT_INVALIDATE_DATA_VTD_S1', entry_num: 0,
    entries: [{ addr: BigInt(iovaVpn(page)) << 12n, npages: 1n, flags: IOMMU_VTD_INV_FLAGS_LEAF }],
  };
  const ret = yield* inv(slot.domain, array);
  return ret === 0 ? OK : fail(ret);
}

/**
 * iommufd/device.c: the iommufd_group's lock (`&igroup->lock`), which iommufd_device_change_pt
 * holds across an attach, replace or detach of any device of the group: two of them on one
 * group never run at once (nor their lazy HWPT allocation here, which stands in for the
 * IOMMU_HWPT_ALLOC the VMM made before).
 */
const igroupLocks = new WeakMap<IommuGroup, Mutex>();
const igroupLock = (world: World, group: IommuGroup): Mutex => {
  let m = igroupLocks.get(group);
  if (m === undefined) igroupLocks.set(group, (m = mutex_init(world.kernel, '&igroup->lock')));
  return m;
};

/** The devices the VMM has bound to iommufd (iommufd_device_bind: one DMA-ownership claim each). */
const bound = new WeakSet<Device>();

/** `body` under the group's &igroup->lock. */
function* underIgroup(world: World, dev: Device, body: Co<Observation>): Co<Observation> {
  const lock = igroupLock(world, dev.group);
  yield* mutex_lock(lock);
  const r = yield* body;
  yield* mutex_unlock(lock);
  return r;
}

/**
 * iommufd_device_attach at a PASID (iommufd_hw_pagetable_attach → iommu_attach_device_pasid),
 * or at IOMMU_NO_PASID, the group's RID (→ iommu_attach_group_handle). Every HWPT is allocated
 * with IOMMU_HWPT_ALLOC_PASID, so iommufd_hwpt_pasid_compat never refuses a mix of the two.
 */
export const attachPasid = (world: World, dev: Device, hwpt: number, pasid: number): Co<Observation> =>
  underIgroup(world, dev, doAttachPasid(world, dev, hwpt, pasid));

function* doAttachPasid(world: World, dev: Device, hwpt: number, pasid: number): Co<Observation> {
  const slot = world.hwpts[hwpt]!;
  if (slot.pasid.has(dev.group)) throw new Error(`hwpt ${hwpt} already attached to group ${dev.group.id} (caller contract)`);
  if (pasid === IOMMU_NO_PASID && !bound.has(dev)) {
    // iommufd_device_bind, which the VMM makes before the device's first RID attach: the
    // group's DMA ownership (kept from then on: the harness's VMM never unbinds).
    const owned = yield* iommu_device_claim_dma_owner(dev);
    if (owned !== 0) return fail(owned);
    bound.add(dev);
  }
  const domain = yield* hwptDomain(world, hwpt, dev);
  if (typeof domain === 'string') return fail(domain);
  // iommufd_hwpt_attach_device: the handle, then the group's RID or the device's PASID.
  if (world.kernel.shouldFail('kzalloc@iommufd_hwpt_attach_device')) return fail('ENOMEM');
  const ret = pasid === IOMMU_NO_PASID ? yield* iommu_attach_group_handle(domain, dev.group) : yield* iommu_attach_device_pasid(domain, dev, pasid);
  if (ret !== 0) return fail(ret);
  slot.pasid.set(dev.group, pasid);
  return { ok: true, value: pasid };
}

/**
 * iommufd_device_replace at the PASID (iommufd_hw_pagetable_replace → iommu_replace_device_pasid,
 * or iommu_replace_group_handle for the RID): the PASID HWPT `from` is attached at in dev's
 * group takes HWPT `hwpt`'s domain.
 */
export const replacePasid = (world: World, dev: Device, hwpt: number, from: number): Co<Observation> =>
  underIgroup(world, dev, doReplacePasid(world, dev, hwpt, from));

function* doReplacePasid(world: World, dev: Device, hwpt: number, from: number): Co<Observation> {
  const old = world.hwpts[from]!;
  const pasid = old.pasid.get(dev.group);
  if (pasid === undefined || world.hwpts[hwpt]!.pasid.has(dev.group)) throw new Error(`replacePasid(hwpt ${from} → ${hwpt}): caller contract`);
  const domain = yield* hwptDomain(world, hwpt, dev);
  if (typeof domain === 'string') return fail(domain);
  // iommufd_hwpt_replace_device: the new handle, then the group's RID or the device's PASID.
  if (world.kernel.shouldFail('kzalloc@iommufd_hwpt_replace_device')) return fail('ENOMEM');
  const ret = pasid === IOMMU_NO_PASID ? yield* iommu_replace_group_handle(dev.group, domain) : yield* iommu_replace_device_pasid(domain, dev, pasid);
  if (ret !== 0) return fail(ret);
  old.pasid.delete(dev.group);
  world.hwpts[hwpt]!.pasid.set(dev.group, pasid);
  return OK;
}

/** iommufd_device_detach at the PASID (iommu_detach_device_pasid). */
export const detachPasid = (world: World, dev: Device, hwpt: number): Co<Observation> =>
  underIgroup(world, dev, doDetachPasid(world, dev, hwpt));

function* doDetachPasid(world: World, dev: Device, hwpt: number): Co<Observation> {
  const slot = world.hwpts[hwpt]!;
  const pasid = slot.pasid.get(dev.group);
  if (pasid === undefined || slot.domain === undefined) throw new Error(`hwpt ${hwpt} not attached to group ${dev.group.id} (caller contract)`);
  // iommufd_hwpt_detach_device: the group's RID goes back to the blocking domain.
  if (pasid === IOMMU_NO_PASID) yield* iommu_detach_group_handle(slot.domain, dev.group);
  else yield* iommu_detach_device_pasid(slot.domain, dev, pasid);
  slot.pasid.delete(dev.group);
  return OK;
}

/**
 * IOMMU_DESTROY of HWPT `hwpt` (iommufd/main.c: iommufd_destroy → iommufd_object_remove,
 * v7.0-rc5): -EBUSY while another reference is held: each attachment holds one, and a nested
 * HWPT holds its parent's. Then the object's destroy:
 * - iommufd_hwpt_paging_destroy (hw_pagetable.c): iopt_table_remove_domain takes the domain
 *   out of its IOAS, unmapping every area from it (iopt_area_unfill_domain: iommu_unmap, each
 *   flushed), then __iommufd_hwpt_destroy → iommu_domain_free. The IOAS goes next (its own
 *   IOMMU_DESTROY: the pages are unpinned, here the buffers are freed), and the nest parent's
 *   IOAS held the guest's RAM, so the guest's stage-1 table goes with it;
 * - iommufd_hwpt_nested_destroy: __iommufd_hwpt_destroy, then the parent's reference is
 *   dropped; the guest's table stays in guest RAM for a later nested HWPT over the same parent.
 */
export function* destroyHwpt(world: World, hwpt: number): Co<Observation> {
  const slot = world.hwpts[hwpt]!;
  const domain = slot.domain;
  if (domain === undefined || allocating.has(slot)) throw new Error(`destroyHwpt(${hwpt}): caller contract`);
  const nested = world.hwpts[NESTED_HWPT]!;
  if (slot.pasid.size > 0 || (hwpt === NEST_PARENT_HWPT && nested.domain !== undefined)) return fail('EBUSY');
  slot.domain = undefined;
  if (hwpt === NESTED_HWPT) {
    yield* iommu_domain_free(domain);
    return OK;
  }
  // iopt_table_remove_domain: the IOAS's areas, then (nest parent) the guest RAM mapped into it.
  for (let page = 0; page < slot.frames.length; page++) {
    if (slot.frames[page] !== undefined && (yield* iommu_unmap(domain, iovaVpn(page))) === 0n) {
      throw new Error(`iopt_table_remove_domain(hwpt ${hwpt}): IOVA page ${page} was not mapped`);
    }
  }
  const guest = hwpt === NEST_PARENT_HWPT ? nested.guest : undefined;
  if (guest !== undefined) for (const gpa of guest.tables.keys()) yield* iommu_unmap(domain, gpa);
  yield* iommu_domain_free(domain);
  const mem = world.kernel.mem;
  for (let page = 0; page < slot.frames.length; page++) {
    const frame = slot.frames[page];
    if (frame === undefined) continue;
    mem.free(frame);
    slot.frames[page] = undefined;
  }
  if (guest !== undefined) {
    for (const frame of guest.tables.values()) mem.free(frame);
    nested.guest = undefined;
  }
  return OK;
}

/** IOMMU_IOAS_MAP of one page: a fresh kernel buffer at IOVA page `page`. */
export function* ioasMap(world: World, hwpt: number, page: number, write: boolean): Co<Observation> {
  const slot: HwptSlot = world.hwpts[hwpt]!;
  const domain = slot.domain;
  if (domain === undefined || slot.frames[page] !== undefined) throw new Error(`iommuMap(hwpt ${hwpt}, ${page}): caller contract`);
  const mem = world.kernel.mem;
  const frame = mem.alloc('data', KERNEL_OWNER, world.content.populateIova(hwpt, page));
  const ret = yield* iommu_map(domain, iovaVpn(page), frame, write);
  if (ret !== 0) {
    mem.free(frame);
    return fail(ret);
  }
  slot.frames[page] = frame;
  return OK;
}

/** IOMMU_IOAS_UNMAP of one page: iommu_unmap (which flushes), then the buffer is freed. */
export function* ioasUnmap(world: World, hwpt: number, page: number): Co<Observation> {
  const slot = world.hwpts[hwpt]!;
  const frame = slot.frames[page];
  if (slot.domain === undefined || frame === undefined) throw new Error(`iommuUnmap(hwpt ${hwpt}, ${page}): caller contract`);
  if ((yield* iommu_unmap(slot.domain, iovaVpn(page))) === 0n) throw new Error(`iommu_unmap(hwpt ${hwpt}, ${page}) unmapped nothing`);
  world.kernel.mem.free(frame);
  slot.frames[page] = undefined;
  return OK;
}

/** The device's DMA to IOVA page `page` at the PASID hwpt is attached at in its group. */
export function dmaIova(world: World, dev: Device, hwpt: number, page: number, write: boolean): Observation {
  const pasid = world.hwpts[hwpt]!.pasid.get(dev.group);
  if (pasid === undefined) throw new Error(`dmaIova: hwpt ${hwpt} not attached to group ${dev.group.id} (caller contract)`);
  const r = dev.hw.dma(pasid, iovaVpn(page), write);
  return r.ok ? { ok: true, value: r.token } : { ok: false, errno: 'EFAULT', fault: r.fault };
}
