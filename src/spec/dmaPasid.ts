/**
 * The expected result of a device access addressed by (device, PASID) rather than by what is
 * attached there: whatever the spec says holds that PASID in the device's group decides it.
 * - a PASID past the device's own width (or a device without PASID): no-pasid-cap;
 * - an attach or replace failing partway through the group has reached the device
 *   (pagingPartway.ts): the old entry, none or the new one, as the linearization chose;
 * - a replace onto a HWPT has torn the entry down and not set the new one up (the window of
 *   replaceHasWindow): the entry is not present;
 * - an iommufd paging domain: its IOVA mapping (dmaIova);
 * - an SVA handle of an mm with that PASID, or a concurrent bind's attempt set up on the device
 *   (attaching.ts): the mm's page (dma);
 * - nothing: the entry is not present.
 * The PASID space is one per group (the pasid_array), so at most one of these holds. PASID 0
 * is an access without PASID, at the group's RID: the HWPT there (rid.ts), else no entry.
 */
import type { Observation } from '../shared/index.js';
import { attachingAt } from './attaching.js';
import { canEmit, dma } from './dma.js';
import { dmaFault } from './observe.js';
import { dmaIova, pagingAt, settingUpAt } from './paging.js';
import { partwayFinds } from './pagingPartway.js';
import { ridAt } from './rid.js';
import type { SpecState } from './state.js';

/** The mm slot whose SVA handle holds (group, pasid), or undefined. */
const svaSlotAt = (s: SpecState, group: number, pasid: number): number | undefined => {
  for (let i = 0; i < s.slots.length; i++) {
    const sl = s.slots[i]!;
    if (sl.handles[group] !== undefined && sl.pasid.ctx.pasid === pasid) return i;
  }
  return undefined;
};

export const dmaPasid = (s: SpecState, dev: number, pasid: number, page: number, write: boolean): Observation => {
  const group = s.t.devGroup[dev]!;
  if (pasid === 0) {
    const h = ridAt(s, group);
    return h === undefined ? dmaFault('not bound') : dmaIova(s, dev, h, page, write);
  }
  if (s.t.devMax[dev] === 0 || !canEmit(s, dev, pasid)) return dmaFault('no PASID capability');
  const partway = s.pagingPartway.length === 0 ? undefined : partwayFinds(s, dev, group, pasid);
  if (partway !== undefined) return partway < 0 ? dmaFault('PASID entry torn down by the replace') : dmaIova(s, dev, partway, page, write);
  if (settingUpAt(s, group, pasid) !== undefined) return dmaFault('PASID entry torn down by the replace');
  const h = pagingAt(s, group, pasid);
  if (h !== undefined) return dmaIova(s, dev, h, page, write);
  const slot = svaSlotAt(s, group, pasid) ?? attachingAt(s, dev, pasid);
  return slot === undefined ? dmaFault('not bound') : dma(s, dev, slot, page, write);
};
