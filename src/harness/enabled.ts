/**
 * The commands the harness generates in a spec state: exactly those whose caller contract
 * holds (src/spec/precondition.ts), narrowed by the generation policy (which devices may be
 * surprise-removed, and a `prg` on the RID names mm 0: it sends no PASID, so its mm is unused
 * and the other mm ids would only repeat it). The exhaustive explorer enumerates them (`enabledCommands`); the random
 * generator draws from the same sets (models/draw.ts), so neither ever produces a command a
 * precondition would reject.
 */
import type { Command, CommandKind, FailSite, Prot, Topology } from '../shared/index.js';
import { FAIL_NTH_MAX, IOVA_PAGES, MAX_HWPTS, NESTED_HWPT, PAGING_HWPTS, PRG_MAX_REQUESTS, failSitesOf } from '../shared/index.js';
import { MM } from '../spec/index.js';
import type { SpecState } from '../spec/index.js';
import { hasPagingDomains } from '../spec/paging.js';
import { RID, ridTakes } from '../spec/rid.js';
import { priOnPaging } from '../spec/precondition.js';
import { openPrgi } from '../spec/pri.js';
import { PTE_ABSENT } from '../spec/state.js';

/** mm machine states as bit sets, as precondition.ts has them. */
export const LIVE = 1 << MM.live;
export const EXITED = 1 << MM.exited;
export const UNFREED = (1 << MM.live) | (1 << MM.exited) | (1 << MM.dropped);
export const FREE = (1 << MM.unborn) | (1 << MM.freed);

export const MMAP_PROTS: readonly ('r' | 'rw')[] = ['rw', 'r'];
export const MPROTECT_PROTS: readonly Prot[] = ['none', 'r', 'rw'];

/**
 * The PASIDs an iommufd attach is generated at (any PASID is legal; these are the ones that
 * matter): 1 and 2, where SVA's global IDA allocates first (a collision is -EBUSY either way),
 * and 8, past a 3-bit device's range (-EINVAL on a narrower group member). PASID 0, the RID's,
 * is generated where the harness builds RID attach (spec/rid.ts ridTakes).
 */
export const ATTACH_PASIDS: readonly number[] = [1, 2, 8];

/**
 * The PASIDs dmaPasid tags its accesses with: the attach PASIDs and the first ones SVA's
 * global IDA hands out, so that most accesses reach something attached (or just detached).
 */
export const DMA_PASIDS: readonly number[] = [1, 2, 3, 4, 8];

/**
 * The devices the generators may unplug in `t`. Generated only where the correct kernel is
 * expected to survive it:
 * - VT-d only. On SMMUv3 the v6.17 unbind path issues ATC_INV to the removed master with no
 *   pci_dev_is_disconnected check (arm_smmu_atc_inv_master), which the emulated SMMU times out
 *   (CMD_SYNC time-out: I-QUEUE) in the fixed kernel too.
 * - Devices alone in their group (the spec's precondition: group removal is not modelled).
 * A PRI device is one: intel_iommu_drain_pasid_prq (prq.c, v7.0-rc5) sends its devTLB
 * invalidation unconditionally, so a removed PRI device's drain times out (qi_check_fault gives
 * up with -ETIMEDOUT since 6ba59ff42279), which the known finding vtd-drain-devtlb-absent
 * excuses; the time-out's abort walk is where B19 lives.
 */
export const unpluggable = (t: Topology): number[] => {
  if (t.platform !== 'vtd') return [];
  return t.devices.flatMap((d, i) => (t.devices.filter((o) => o.group === d.group).length === 1 ? [i] : []));
};

/**
 * No injection armed: failNext and failNth are legal (one at a time). Generation narrows
 * failNext to the platform's own sites (failSitesOf; another platform's would never fire) and
 * failNth to n in [1, FAIL_NTH_MAX] (no command makes more fallible calls).
 */
export const injectionIdle = (s: SpecState): boolean => s.failArmed === undefined && s.failNth === 0;

/**
 * failNext's sites in `s`: the platform's, less the IOPF group allocation while nothing is on
 * its way to reach it: only a fault thread reporting a LAST page request of a PASID makes that
 * call, so it needs one queued or a PRI endpoint bound to a live mm (its next miss sends one).
 * A failNext armed where nothing will reach it would block every other injection for the rest
 * of the run (a topology without PRI endpoints never reaches it).
 */
export const failNextSites = (s: SpecState): readonly FailSite[] => {
  const sites = failSitesOf(s.t.topology.platform);
  return iopfGroupAllocNear(s) ? sites : sites.filter((site) => site !== 'kzalloc@iopf_group_alloc');
};

const iopfGroupAllocNear = (s: SpecState): boolean => {
  if (s.prq.some((r) => r.last && r.slot >= 0)) return true;
  const mms = s.t.topology.mms;
  for (let dev = 0; dev < s.t.devPri.length; dev++) {
    if (!s.t.devPri[dev] || s.unplugged[dev] === 1 || s.priFailed[dev] === 1) continue;
    for (let mm = 0; mm < mms; mm++) if (s.bonds[dev * mms + mm]!.ctx.n > 0 && s.slots[mm]!.mm.state === MM.live) return true;
  }
  return false;
};

/**
 * The devices that can send page request groups in `t`: PRI devices on VT-d and AMD. An SMMUv3
 * stall is one transaction, not a group. AMD's PPR log has the protocol's fields (the tag's LAST
 * bit, GN = 0 for PASID-less requests; drivers/iommu/amd/ppr.c iommu_call_iopf_notifier,
 * v6.19-rc); PASID groups are sent there, RID ones not yet: the spec's AMD half of a RID `prg`
 * (every GN = 0 request answered FAILURE at once, which disables the endpoint's PRI) is not
 * written (ridGroups).
 */
export const prgDevices = (t: Topology): number[] =>
  t.platform === 'smmuv3' ? [] : t.devices.flatMap((d, i) => (d.pri ? [i] : []));

/** Whether `prg` may send a group on the RID (no PASID) in `t`: VT-d only (prgDevices). */
export const ridGroups = (t: Topology): boolean => t.platform === 'vtd';

/** The devices that may send a Stop Marker: VT-d's PRI endpoints (the unit that queues them; docs/stop-markers.md). */
export const stopMarkerDevices = (t: Topology): number[] => (t.platform === 'vtd' ? prgDevices(t) : []);

/** Devices a generated unplug may remove now: unpluggable, present, no iommufd attachment on its group. */
export const unplugNow = (s: SpecState): number[] => {
  const g = s.t.devGroup;
  return unpluggable(s.t.topology).filter((d) => s.unplugged[d] === 0 && !s.hwpts.some((h) => h.pasid[g[d]!] !== 0));
};

/** The PASID hwpt is attached at in dev's group (0: not attached). */
const attachedIn = (s: SpecState, dev: number, hwpt: number): number => s.hwpts[hwpt]!.pasid[s.t.devGroup[dev]!]!;

/** Slots whose mm machine is in one of `states` (a bit set). */
export const slotsIn = (s: SpecState, states: number): number[] => {
  const out: number[] = [];
  for (let mm = 0; mm < s.slots.length; mm++) if (((1 << s.slots[mm]!.mm.state) & states) !== 0) out.push(mm);
  return out;
};

/** Unfreed slots that hold a PASID: the ones a device can reach by DMA. */
export const pasidSlots = (s: SpecState): number[] =>
  slotsIn(s, UNFREED).filter((mm) => s.slots[mm]!.pasid.ctx.pasid !== 0);

/** Devices not surprise-removed. */
export const presentDevs = (s: SpecState): number[] => {
  const out: number[] = [];
  for (let d = 0; d < s.unplugged.length; d++) if (s.unplugged[d] === 0) out.push(d);
  return out;
};

/** The kinds the generators may produce at all in `t` (fork needs two slots, and so on). */
export const possibleKind = (kind: CommandKind, t: Topology): boolean =>
  kind === 'fork' ? t.mms > 1
    : kind === 'vmalloc' || kind === 'vfree' || kind === 'prefetchKernel' ? t.kpages > 0
    : kind === 'unplug' ? unpluggable(t).length > 0
    : kind === 'prg' ? prgDevices(t).length > 0
    : kind === 'stopMarker' ? stopMarkerDevices(t).length > 0
    // Without paging domains attachPasid is -EOPNOTSUPP and nothing can use one.
    : kind === 'detachPasid' || kind === 'replacePasid' || kind === 'iommuMap' || kind === 'iommuUnmap' || kind === 'dmaIova' ||
      kind === 'guestMap' || kind === 'guestUnmap' || kind === 'destroyHwpt' ? hasPagingDomains(t.platform)
    : true;

/**
 * Every generatable command of `kind` in state `s`, in a fixed order (ids ascending, then the
 * other arguments as listed above), so exploration is deterministic.
 */
export const enabledOfKind = (s: SpecState, kind: CommandKind): Command[] => {
  const t = s.t.topology;
  const out: Command[] = [];
  switch (kind) {
    case 'bind':
      for (const dev of presentDevs(s)) for (const mm of slotsIn(s, LIVE)) out.push({ kind, dev, mm });
      return out;
    case 'unbind':
      for (let dev = 0; dev < t.devices.length; dev++) {
        for (let mm = 0; mm < t.mms; mm++) if (s.bonds[dev * t.mms + mm]!.ctx.n > 0) out.push({ kind, dev, mm });
      }
      return out;
    case 'mmap':
      for (const mm of slotsIn(s, LIVE)) {
        const vma = s.slots[mm]!.vma;
        for (let first = 0; first < t.pages; first++) {
          for (let end = first; end < t.pages && vma[end] === 0; end++) {
            for (const prot of MMAP_PROTS) out.push({ kind, mm, first, count: end - first + 1, prot });
          }
        }
      }
      return out;
    case 'touch':
      for (const mm of slotsIn(s, LIVE)) {
        for (let page = 0; page < t.pages; page++) for (const write of [false, true]) out.push({ kind, mm, page, write });
      }
      return out;
    case 'munmap':
      for (const mm of slotsIn(s, LIVE)) {
        for (let first = 0; first < t.pages; first++) {
          for (let count = 1; first + count <= t.pages; count++) out.push({ kind, mm, first, count });
        }
      }
      return out;
    case 'mprotect':
      for (const mm of slotsIn(s, LIVE)) {
        for (let page = 0; page < t.pages; page++) {
          if (s.slots[mm]!.vma[page] !== 0) for (const prot of MPROTECT_PROTS) out.push({ kind, mm, page, prot });
        }
      }
      return out;
    case 'dma':
      for (const dev of presentDevs(s)) {
        for (const mm of pasidSlots(s)) {
          if (priOnPaging(s, dev, mm)) continue;
          for (let page = 0; page < t.pages; page++) for (const write of [false, true]) out.push({ kind, dev, mm, page, write });
        }
      }
      return out;
    case 'prefetch':
      for (const dev of presentDevs(s)) {
        for (const mm of pasidSlots(s)) if (!priOnPaging(s, dev, mm)) for (let page = 0; page < t.pages; page++) out.push({ kind, dev, mm, page });
      }
      return out;
    case 'prefetchKernel':
      for (const dev of presentDevs(s)) for (const mm of pasidSlots(s)) for (let kpage = 0; kpage < t.kpages; kpage++) out.push({ kind, dev, mm, kpage });
      return out;
    case 'unplug':
      for (const dev of unplugNow(s)) out.push({ kind, dev });
      return out;
    case 'migrate':
      for (const mm of slotsIn(s, LIVE)) for (let page = 0; page < t.pages; page++) out.push({ kind, mm, page });
      return out;
    case 'attachPasid':
      for (const dev of presentDevs(s)) {
        for (let hwpt = 0; hwpt < MAX_HWPTS; hwpt++) {
          if (attachedIn(s, dev, hwpt) !== 0) continue;
          if (ridTakes(s, dev, hwpt, true)) out.push({ kind, dev, hwpt, pasid: 0 });
          for (const pasid of ATTACH_PASIDS) out.push({ kind, dev, hwpt, pasid });
        }
      }
      return out;
    case 'replacePasid':
      for (const dev of presentDevs(s)) {
        for (let hwpt = 0; hwpt < MAX_HWPTS; hwpt++) {
          if (attachedIn(s, dev, hwpt) !== 0) continue;
          for (let from = 0; from < MAX_HWPTS; from++) {
            const at = attachedIn(s, dev, from);
            if (from !== hwpt && at !== 0 && (at !== RID || ridTakes(s, dev, hwpt, false))) out.push({ kind, dev, hwpt, from });
          }
        }
      }
      return out;
    case 'detachPasid':
      for (let dev = 0; dev < t.devices.length; dev++) for (let hwpt = 0; hwpt < MAX_HWPTS; hwpt++) if (attachedIn(s, dev, hwpt) !== 0) out.push({ kind, dev, hwpt });
      return out;
    case 'iommuMap':
      for (let hwpt = 0; hwpt < PAGING_HWPTS; hwpt++) {
        const h = s.hwpts[hwpt]!;
        if (!h.allocated) continue;
        for (let page = 0; page < IOVA_PAGES; page++) if (h.pte[page] === PTE_ABSENT) for (const write of [false, true]) out.push({ kind, hwpt, page, write });
      }
      return out;
    case 'iommuUnmap':
      for (let hwpt = 0; hwpt < PAGING_HWPTS; hwpt++) for (let page = 0; page < IOVA_PAGES; page++) if (s.hwpts[hwpt]!.pte[page] !== PTE_ABSENT) out.push({ kind, hwpt, page });
      return out;
    case 'guestMap': {
      const h = s.hwpts[NESTED_HWPT]!;
      if (!h.allocated) return out;
      for (let page = 0; page < IOVA_PAGES; page++) {
        if (h.pte[page] !== PTE_ABSENT) continue;
        for (let gpa = 0; gpa < IOVA_PAGES; gpa++) for (const write of [false, true]) out.push({ kind, page, gpa, write });
      }
      return out;
    }
    case 'guestUnmap':
      if (!s.hwpts[NESTED_HWPT]!.allocated) return out;
      for (let page = 0; page < IOVA_PAGES; page++) if (s.hwpts[NESTED_HWPT]!.pte[page] !== PTE_ABSENT) out.push({ kind, page });
      return out;
    case 'destroyHwpt':
      for (let hwpt = 0; hwpt < MAX_HWPTS; hwpt++) if (s.hwpts[hwpt]!.allocated) out.push({ kind, hwpt });
      return out;
    case 'dmaIova':
      // Devices without PRI only (the precondition's reason: no IOPF handler behind the PASID).
      for (const dev of presentDevs(s)) {
        if (s.t.devPri[dev]) continue;
        for (let hwpt = 0; hwpt < MAX_HWPTS; hwpt++) {
          if (attachedIn(s, dev, hwpt) === 0) continue;
          for (let page = 0; page < IOVA_PAGES; page++) for (const write of [false, true]) out.push({ kind, dev, hwpt, page, write });
        }
      }
      return out;
    case 'dmaPasid':
      // Devices without PRI (the precondition's); every page, in range or not of an IOVA map.
      for (const dev of presentDevs(s)) {
        if (s.t.devPri[dev]) continue;
        for (const pasid of DMA_PASIDS) for (let page = 0; page < t.pages; page++) for (const write of [false, true]) out.push({ kind, dev, pasid, page, write });
      }
      return out;
    case 'prg':
      for (const dev of prgDevices(t)) {
        if (s.unplugged[dev] !== 0) continue;
        const bound = s.t.devMax[dev]! > 0 ? slotsIn(s, LIVE).filter((mm) => s.bonds[dev * t.mms + mm]!.ctx.n > 0) : [];
        for (let page = 0; page < t.pages; page++) {
          for (let count = 1; count <= PRG_MAX_REQUESTS && page + count <= t.pages; count++) {
            for (const write of [false, true]) {
              for (const mm of bound) for (const last of [false, true]) out.push({ kind, dev, mm, page, count, write, rid: false, last });
              if (ridGroups(t)) out.push({ kind, dev, mm: 0, page, count, write, rid: true, last: true });
            }
          }
        }
      }
      return out;
    case 'stopMarker':
      // Every bond of a PRI device (the mm live or exited), once its groups there are finished.
      for (const dev of stopMarkerDevices(t)) {
        if (s.unplugged[dev] !== 0 || s.t.devMax[dev]! === 0) continue;
        for (let mm = 0; mm < t.mms; mm++) if (s.bonds[dev * t.mms + mm]!.ctx.n > 0 && openPrgi(s, dev, mm) < 0) out.push({ kind, dev, mm });
      }
      return out;
    case 'exit':
      for (const mm of slotsIn(s, LIVE)) out.push({ kind, mm });
      return out;
    case 'mmdrop':
      for (const mm of slotsIn(s, EXITED)) out.push({ kind, mm });
      return out;
    case 'fork':
      for (const mm of slotsIn(s, LIVE)) for (const child of slotsIn(s, FREE)) out.push({ kind, mm, child });
      return out;
    case 'spawn':
      for (const mm of slotsIn(s, FREE)) out.push({ kind, mm });
      return out;
    case 'gracePeriod':
    case 'serviceFaults':
      out.push({ kind });
      return out;
    case 'vmalloc':
    case 'vfree':
      for (let kpage = 0; kpage < t.kpages; kpage++) if (s.kMapped[kpage] === (kind === 'vfree' ? 1 : 0)) out.push({ kind, kpage });
      return out;
    case 'failNext':
      if (injectionIdle(s)) for (const site of failNextSites(s)) out.push({ kind, site });
      return out;
    case 'failNth':
      if (injectionIdle(s)) for (let n = 1; n <= FAIL_NTH_MAX; n++) out.push({ kind, n });
      return out;
    default: {
      const never: never = kind;
      throw new Error(`enabledOfKind: unknown kind ${String(never)}`);
    }
  }
};

/** Every generatable command in `s` over `kinds`, kind by kind. */
export const enabledCommands = (s: SpecState, kinds: readonly CommandKind[]): Command[] => {
  const out: Command[] = [];
  for (const k of kinds) if (possibleKind(k, s.t.topology)) out.push(...enabledOfKind(s, k));
  return out;
};
