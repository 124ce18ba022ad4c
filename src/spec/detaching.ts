/**
 * An SVA detach seen from the devices while it runs. iommu_sva_unbind_device's last reference
 * goes through iommu_detach_device_pasid (drivers/iommu/iommu.c, v6.17): each device's entry is
 * torn down (the blocking domain's set_dev_pasid: entry cleared, caches flushed, the PRQ
 * drained), and only then is the handle erased from the pasid_array. Between the two the
 * handle still answers the fault path (a queued request is handled against the mm and
 * answered), but the device's access, and its retry after a Success, no longer translates.
 * Sequentially the unbind is one step; in a group it has a point where the entries are torn
 * down (spec/points.ts), and serviceFaults may run a pass between it and the rest.
 *
 * The kernel takes the group's PASID devices in turn. One access between two devices' teardowns
 * linearizes before or after them all, so the group's devices go at one point together; where
 * two members access from two devices of the group, each device goes at a point of its own
 * (spec/points.ts), since one access may find its device's entry gone and a later one its
 * device's still there.
 */
import { pasidDevs } from './attaching.js';
import type { SpecState } from './state.js';

/**
 * A teardown point of dev's unbind of `slot`: when it drops the group handle's last user
 * (iommu_detach_device_pasid follows), the entries of the group's first `upTo` PASID devices
 * (all of them by default) are torn down until endDetaching.
 */
export const unbindTeardown = (s: SpecState, dev: number, slot: number, upTo = Infinity): void => {
  if (!detaches(s, dev, slot)) return;
  const group = s.t.devGroup[dev]!;
  const devs = pasidDevs(s.t, group);
  const entry = { group, slot, devs: devs.length > upTo ? devs.slice(0, upTo) : devs };
  const i = s.detaching.findIndex((d) => d.group === group && d.slot === slot);
  if (i >= 0) s.detaching[i] = entry;
  else s.detaching.push(entry);
};

/** Whether dev's unbind of `slot` drops its group handle's last user. */
export const detaches = (s: SpecState, dev: number, slot: number): boolean => s.slots[slot]!.handles[s.t.devGroup[dev]!]?.users === 1;

/** The handle's erase: the detach is over. */
export const endDetaching = (s: SpecState, group: number, slot: number): void => {
  const i = s.detaching.findIndex((d) => d.group === group && d.slot === slot);
  if (i >= 0) s.detaching.splice(i, 1);
};

/** Whether dev's entry at `slot`'s PASID is torn down by a detach still holding its handle. */
export const tornDown = (s: SpecState, dev: number, slot: number): boolean => {
  for (const d of s.detaching) if (d.slot === slot && d.devs.includes(dev)) return true;
  return false;
};

/** Whether dev is stopped at `slot`'s PASID by a concurrent unbind still under way (bind.ts unbindStopping). */
export const stoppedAt = (s: SpecState, dev: number, slot: number): boolean =>
  s.stopping.length > 0 && s.stopping.includes(dev * s.t.topology.mms + slot);
