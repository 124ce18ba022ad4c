/**
 * The kernel's caller contracts (contracts.md "Caller contracts"): a command is legal in a
 * state iff this holds. Generators use it as fast-check `check`; the step assumes it.
 */
import { type Command, IOVA_PAGES, MAX_HWPTS, NESTED_HWPT, PAGING_HWPTS, PRG_MAX_REQUESTS } from '../shared/index.js';
import { MM, PTE_ABSENT, VMA_NONE } from './state.js';
import { pagingAt } from './paging.js';
import { RID, ridTakes } from './rid.js';
import { openPrgi } from './pri.js';
import { canEmit } from './dma.js';

/** PASIDs are 20 bits (PCIe). */
const PASID_LIMIT = 2 ** 20;
import type { SpecState } from './state.js';

const inRange = (x: number, n: number): boolean => Number.isInteger(x) && x >= 0 && x < n;

/** Bit set of mm machine states, so a slot test is one shift and one AND (no allocation). */
const LIVE = 1 << MM.live;
const EXITED = 1 << MM.exited;
const UNFREED = (1 << MM.live) | (1 << MM.exited) | (1 << MM.dropped);
const FREE = (1 << MM.unborn) | (1 << MM.freed);

const slotIn = (s: SpecState, mm: number, states: number): boolean =>
  inRange(mm, s.t.topology.mms) && ((1 << s.slots[mm]!.mm.state) & states) !== 0;

/** The device is still there (not surprise-removed). */
const present = (s: SpecState, dev: number): boolean => inRange(dev, s.t.topology.devices.length) && s.unplugged[dev] === 0;

const pageRange = (s: SpecState, first: number, count: number): boolean =>
  Number.isInteger(first) && Number.isInteger(count) && first >= 0 && count >= 1 && first + count <= s.t.topology.pages;

/**
 * A PRI device's access at a PASID its group has only an iommufd paging domain at: a miss
 * would send a page request with no IOPF handler behind it (not modelled, as for dmaIova).
 */
export const priOnPaging = (s: SpecState, dev: number, mm: number): boolean => {
  if (!s.t.devPri[dev]) return false;
  const g = s.t.devGroup[dev]!;
  const sl = s.slots[mm]!;
  return sl.handles[g] === undefined && pagingAt(s, g, sl.pasid.ctx.pasid) !== undefined;
};

export const precondition = (s: SpecState, cmd: Command): boolean => {
  const { devices, mms, pages, kpages } = s.t.topology;
  // A plain switch, not ts-pattern: this runs once per generated command (fast-check `check`).
  switch (cmd.kind) {
    case 'bind':
      return present(s, cmd.dev) && slotIn(s, cmd.mm, LIVE);
    case 'unbind':
      return inRange(cmd.dev, devices.length) && inRange(cmd.mm, mms) && s.bonds[cmd.dev * mms + cmd.mm]!.ctx.n > 0;
    case 'mmap': {
      if (!slotIn(s, cmd.mm, LIVE) || !pageRange(s, cmd.first, cmd.count)) return false;
      const vma = s.slots[cmd.mm]!.vma;
      for (let p = cmd.first; p < cmd.first + cmd.count; p++) if (vma[p] !== VMA_NONE) return false;
      return true;
    }
    case 'touch':
      return slotIn(s, cmd.mm, LIVE) && inRange(cmd.page, pages);
    case 'munmap':
      return slotIn(s, cmd.mm, LIVE) && pageRange(s, cmd.first, cmd.count);
    case 'mprotect':
      return slotIn(s, cmd.mm, LIVE) && inRange(cmd.page, pages) && s.slots[cmd.mm]!.vma[cmd.page] !== VMA_NONE;
    case 'dma':
    case 'prefetch':
      return present(s, cmd.dev) && inRange(cmd.page, pages) &&
        slotIn(s, cmd.mm, UNFREED) && s.slots[cmd.mm]!.pasid.ctx.pasid !== 0 && !priOnPaging(s, cmd.dev, cmd.mm);
    case 'prg': {
      // VT-d and AMD PRI (an SMMUv3 stall is one transaction, not a group; on AMD PASID groups
      // only, as prgDevices says); a PASID group needs
      // the device bound to a live mm: a device is given a PASID only once it is attached, and
      // (as for a DMA) a request after exit_mmap cleared the entry is not made against any table.
      const { dev, mm, page, count, rid, last } = cmd;
      if (s.t.topology.platform === 'smmuv3' || !present(s, dev) || !s.t.devPri[dev] || !Number.isInteger(count) || count < 1 || count > PRG_MAX_REQUESTS) return false;
      if (!inRange(page, pages) || page + count > pages || !inRange(mm, mms)) return false;
      // The RID is never unbound: a group there that stayed open would hold its credits forever.
      if (rid) return last && s.t.topology.platform === 'vtd';
      if (s.t.devMax[dev]! === 0 || !slotIn(s, mm, LIVE)) return false;
      if (s.bonds[dev * mms + mm]!.ctx.n > 0) return true;
      // A device not bound to the mm may still send a whole group at its PASID (as it may DMA
      // there): an endpoint its user drives (a guest's, through iommufd), or one told the PASID
      // before the bind returned. The kernel must answer it, not trust it: the attach window of
      // 5e9f822c9c68 (R04). Whole groups only, as on the RID: nothing unbinds to close one.
      const pasid = s.slots[mm]!.pasid.ctx.pasid;
      return last && pasid !== 0 && pasid < s.t.devMax[dev]! && canEmit(s, dev, pasid) && !priOnPaging(s, dev, mm);
    }
    case 'stopMarker':
      // VT-d PRI (where the hardware queues Stop Markers), a device using the mm's PASID (a bond,
      // whatever the mm's state: its driver may stop the PASID after exit, before the unbind),
      // and, as PCIe 10.4.1.2 has the function finish its groups first, none of them open.
      return s.t.topology.platform === 'vtd' && present(s, cmd.dev) && s.t.devPri[cmd.dev] === true && inRange(cmd.mm, mms) &&
        s.t.devMax[cmd.dev]! > 0 && s.bonds[cmd.dev * mms + cmd.mm]!.ctx.n > 0 && openPrgi(s, cmd.dev, cmd.mm) < 0;
    case 'prefetchKernel':
      return present(s, cmd.dev) && inRange(cmd.kpage, kpages) &&
        slotIn(s, cmd.mm, UNFREED) && s.slots[cmd.mm]!.pasid.ctx.pasid !== 0;
    case 'unplug':
      // The harness does not model iommu_group_remove_device, so a removed device must have
      // had its group to itself: no sibling can attach a PASID to it afterwards. Its iommufd
      // attachments are detached by the owning driver's remove first (not modelled), so a
      // device with one is not unplugged.
      return present(s, cmd.dev) && s.t.groupDevs[s.t.devGroup[cmd.dev]!]!.length === 1 &&
        !s.hwpts.some((h) => h.pasid[s.t.devGroup[cmd.dev]!] !== 0);
    case 'migrate':
      return slotIn(s, cmd.mm, LIVE) && inRange(cmd.page, pages);
    case 'attachPasid':
      return present(s, cmd.dev) && inRange(cmd.hwpt, MAX_HWPTS) && Number.isInteger(cmd.pasid) &&
        cmd.pasid >= 0 && cmd.pasid < PASID_LIMIT && s.hwpts[cmd.hwpt]!.pasid[s.t.devGroup[cmd.dev]!] === 0 &&
        (cmd.pasid !== 0 || ridTakes(s, cmd.dev, cmd.hwpt, true));
    case 'replacePasid': {
      if (!present(s, cmd.dev) || !inRange(cmd.hwpt, MAX_HWPTS) || !inRange(cmd.from, MAX_HWPTS) || cmd.hwpt === cmd.from) return false;
      const g = s.t.devGroup[cmd.dev]!;
      return s.hwpts[cmd.from]!.pasid[g] !== 0 && s.hwpts[cmd.hwpt]!.pasid[g] === 0 &&
        (s.hwpts[cmd.from]!.pasid[g] !== RID || ridTakes(s, cmd.dev, cmd.hwpt, false));
    }
    case 'detachPasid':
      return inRange(cmd.dev, devices.length) && inRange(cmd.hwpt, MAX_HWPTS) &&
        s.hwpts[cmd.hwpt]!.pasid[s.t.devGroup[cmd.dev]!] !== 0;
    case 'iommuMap':
      // The nested HWPT has no table of its own for the host to map: the guest writes its own.
      return inRange(cmd.hwpt, PAGING_HWPTS) && inRange(cmd.page, IOVA_PAGES) && s.hwpts[cmd.hwpt]!.allocated &&
        s.hwpts[cmd.hwpt]!.pte[cmd.page] === PTE_ABSENT;
    case 'iommuUnmap':
      return inRange(cmd.hwpt, PAGING_HWPTS) && inRange(cmd.page, IOVA_PAGES) && s.hwpts[cmd.hwpt]!.pte[cmd.page] !== PTE_ABSENT;
    case 'guestMap':
      return inRange(cmd.page, IOVA_PAGES) && inRange(cmd.gpa, IOVA_PAGES) && s.hwpts[NESTED_HWPT]!.allocated &&
        s.hwpts[NESTED_HWPT]!.pte[cmd.page] === PTE_ABSENT;
    case 'guestUnmap':
      // Its invalidation goes through the nested HWPT (IOMMU_HWPT_INVALIDATE): it must exist.
      return inRange(cmd.page, IOVA_PAGES) && s.hwpts[NESTED_HWPT]!.allocated && s.hwpts[NESTED_HWPT]!.pte[cmd.page] !== PTE_ABSENT;
    case 'destroyHwpt':
      return inRange(cmd.hwpt, MAX_HWPTS) && s.hwpts[cmd.hwpt]!.allocated;
    case 'dmaIova':
      // A PRI device's miss would send a page request with no IOPF handler behind the PASID
      // (the no-handler response path is not modelled here): only devices without PRI.
      return present(s, cmd.dev) && !s.t.devPri[cmd.dev] && inRange(cmd.hwpt, MAX_HWPTS) &&
        inRange(cmd.page, IOVA_PAGES) && s.hwpts[cmd.hwpt]!.pasid[s.t.devGroup[cmd.dev]!] !== 0;
    case 'dmaPasid':
      // Devices without PRI (dmaIova's reason). PASID 0 is an access without PASID, at the RID:
      // on VT-d only, where a RID with no HWPT has no entry (the identity domain writes none
      // here); SMMUv3's identity RID is a bypass STE, which the emulated SMMU has no target for.
      return present(s, cmd.dev) && !s.t.devPri[cmd.dev] && Number.isInteger(cmd.pasid) && cmd.pasid >= (s.t.topology.platform === 'vtd' ? 0 : 1) &&
        cmd.pasid < PASID_LIMIT && inRange(cmd.page, s.t.topology.pages);
    case 'exit':
      return slotIn(s, cmd.mm, LIVE);
    case 'mmdrop':
      return slotIn(s, cmd.mm, EXITED);
    case 'fork':
      return slotIn(s, cmd.mm, LIVE) && cmd.child !== cmd.mm && slotIn(s, cmd.child, FREE);
    case 'spawn':
      return slotIn(s, cmd.mm, FREE);
    case 'gracePeriod':
    case 'serviceFaults':
      return true;
    case 'vmalloc':
      return inRange(cmd.kpage, kpages) && s.kMapped[cmd.kpage] === 0;
    case 'vfree':
      return inRange(cmd.kpage, kpages) && s.kMapped[cmd.kpage] === 1;
    case 'failNext':
    case 'failNth':
      // One injection armed at a time; failNth's n counts from 1 (/proc/self/fail-nth).
      return s.failArmed === undefined && s.failNth === 0 && (cmd.kind === 'failNext' || (Number.isInteger(cmd.n) && cmd.n >= 1));
    default: {
      const never: never = cmd;
      throw new Error(`precondition: unknown command ${JSON.stringify(never)}`);
    }
  }
};
