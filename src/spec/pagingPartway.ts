/**
 * An iommufd attach or replace at a PASID that fails partway through its group, seen from the
 * devices while it runs. __iommu_set_group_pasid (drivers/iommu/iommu.c, v6.17) calls the
 * driver's set_dev_pasid device by device; when one fails (an injected allocation failure), the
 * devices before it are rolled back: to the old domain (set_dev_pasid(old, ...), a replace back)
 * or, for an attach, through iommu_remove_dev_pasid. Until then each of them holds the new
 * domain's entry, and on VT-d, whose replace tears the old entry down before writing the new one
 * (paging.ts replaceHasWindow), an access may also find none, on the way there or back. The
 * failing device and those after it keep the old entry (the drivers allocate before they write).
 *
 * Sequentially the failed call is one step and leaves nothing behind; in a group it has two
 * points, the failure met and the rollback done, and a device access between them by one of
 * those devices finds what the linearization's choice says (SpecState.partwaySeen): the old
 * entry, none, or the new one. The kernel's sequence old, none, new, none, old holds any order of
 * two accesses' findings, so a choice per access is exact enough.
 */
import type { Errno } from '../shared/index.js';
import type { SpecState } from './state.js';

/** What an access inside a failing attach's window finds on a device it had reached. */
export const PARTWAY_OLD = 0;
export const PARTWAY_NONE = 1;
export const PARTWAY_NEW = 2;

/** The failure met at `pasid` of `group`, `devs` set to `to` before it: the window opens. */
export const partwayBegin = (s: SpecState, group: number, pasid: number, devs: readonly number[], from: number, to: number, errno: Errno): void => {
  s.pagingPartway.push({ group, pasid, devs, from, to, errno });
};

/** The rollback is done: the failure's errno, or undefined when `group` has no window open. */
export const partwayEnd = (s: SpecState, group: number): Errno | undefined => {
  const i = s.pagingPartway.findIndex((p) => p.group === group);
  if (i < 0) return undefined;
  return s.pagingPartway.splice(i, 1)[0]!.errno;
};

/**
 * The HWPT dev's access at `pasid` finds inside a failing attach's window: `to` (new), -1 (no
 * entry), or undefined (the old entry, as if nothing had happened: the spec state is still it).
 */
export const partwayFinds = (s: SpecState, dev: number, group: number, pasid: number): number | undefined => {
  for (const p of s.pagingPartway) {
    if (p.group !== group || p.pasid !== pasid || !p.devs.includes(dev)) continue;
    if (s.partwaySeen === PARTWAY_NEW) return p.to;
    // No entry on the way: only a replace that tears the old one down first (VT-d) has such a moment.
    if (s.partwaySeen === PARTWAY_NONE && p.from >= 0 && s.t.topology.platform === 'vtd') return -1;
  }
  return undefined;
};
