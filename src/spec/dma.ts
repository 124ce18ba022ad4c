/**
 * The expected result of a device access through the mm's PASID (contracts.md "Observations"):
 * ok with the content token iff the device's group holds an SVA handle for this mm_struct and
 * the device itself took the PASID (max_pasids > 0; __iommu_set_group_pasid skips the others),
 * the mm has not exited (release tore the entries down: VT-d FPD entry, SMMU EPD0 CD), the page
 * is present and accessible, and for a write the PTE is writable. A PRI device's miss (absent
 * page, PROT_NONE, or a write to a read-only PTE) in that bound, live mm sends a page request
 * instead (pri.ts). Unbound, the PASID may still be an iommufd paging domain's in the group
 * (a caller-chosen PASID the global IDA does not know): the access then translates through it.
 * In a group, a bind's attempt set up on the device and not yet unwound counts as bound, and
 * a handle whose entries an unbind has torn down does not; inside an exit's release the device
 * may find its entries torn down already (releasing.ts).
 */
import type { Observation } from '../shared/index.js';
import { attachingAt } from './attaching.js';
import { tornDown } from './detaching.js';
import { dmaFault } from './observe.js';
import { releasedFor } from './releasing.js';
import { pageRequest } from './pri.js';
import { dmaIova, pagingAt } from './paging.js';
import { MM, PTE_ABSENT, PTE_PROTNONE, PTE_RW } from './state.js';
import type { SpecState } from './state.js';

/**
 * The device can tag a request with `pasid`: below its own PCIe Max PASID Width (not the
 * IOMMU's, which only bounds what can be attached): a wider PASID never leaves the device.
 * A bound PASID is always in range (iommu_attach_device_pasid refused it otherwise).
 */
export const canEmit = (s: SpecState, dev: number, pasid: number): boolean => pasid < 2 ** s.t.topology.devices[dev]!.pasidBits;

/**
 * Whether dev's entry at `slot`'s PASID is `slot`'s: its group holds the mm's handle, or a
 * concurrent bind's attempt set it up partway (attaching.ts); not once a concurrent unbind tore
 * the handle's entries down (detaching.ts).
 */
export const translatesVia = (s: SpecState, dev: number, group: number, slot: number): boolean =>
  (s.slots[slot]!.handles[group] !== undefined || attachingAt(s, dev, s.slots[slot]!.pasid.ctx.pasid) === slot) &&
  (s.detaching.length === 0 || !tornDown(s, dev, slot));

export const dma = (s: SpecState, dev: number, slot: number, page: number, write: boolean): Observation => {
  const sl = s.slots[slot]!;
  if (s.t.devMax[dev] === 0 || !canEmit(s, dev, sl.pasid.ctx.pasid)) return dmaFault('no PASID capability');
  const group = s.t.devGroup[dev]!;
  if (!translatesVia(s, dev, group, slot)) {
    // The PASID number may be an iommufd paging domain's in this group: the access is an IOVA one.
    const h = pagingAt(s, group, sl.pasid.ctx.pasid);
    return h === undefined ? dmaFault('not bound') : dmaIova(s, dev, h, page, write);
  }
  if (sl.mm.state !== MM.live || (s.releasing.length > 0 && releasedFor(s, dev, slot))) return dmaFault('mm exited');
  const pte = sl.pte[page]!;
  if (s.t.devPri[dev] && s.priFailed[dev] === 0 && (pte === PTE_ABSENT || pte === PTE_PROTNONE || (write && pte !== PTE_RW))) {
    return pageRequest(s, dev, slot, page, write);
  }
  if (pte === PTE_ABSENT) return dmaFault('page not present');
  if (pte === PTE_PROTNONE) return dmaFault('PROT_NONE');
  if (write && pte !== PTE_RW) return dmaFault('read-only');
  return { ok: true, value: sl.token[page]! };
};
