/**
 * The commands the harness generates in a spec state: exactly those whose caller contract
 * holds (src/spec/precondition.ts), narrowed by the generation policy (which devices may be
 * surprise-removed). The exhaustive explorer enumerates them (`enabledCommands`); the random
 * generator draws from the same sets (models/draw.ts), so neither ever produces a command a
 * precondition would reject.
 */
import type { Command, CommandKind, Prot, Topology } from '../shared/index.js';
import { FAIL_NTH_MAX, failSitesOf } from '../shared/index.js';
import { MM } from '../spec/index.js';
import type { SpecState } from '../spec/index.js';

/** mm machine states as bit sets, as precondition.ts has them. */
export const LIVE = 1 << MM.live;
export const EXITED = 1 << MM.exited;
export const UNFREED = (1 << MM.live) | (1 << MM.exited) | (1 << MM.dropped);
export const FREE = (1 << MM.unborn) | (1 << MM.freed);

export const MMAP_PROTS: readonly ('r' | 'rw')[] = ['rw', 'r'];
export const MPROTECT_PROTS: readonly Prot[] = ['none', 'r', 'rw'];

/**
 * The devices the generators may unplug in `t`. Generated only where the correct kernel is
 * expected to survive it:
 * - VT-d only. On SMMUv3 the v6.17 unbind path issues ATC_INV to the removed master with no
 *   pci_dev_is_disconnected check (arm_smmu_atc_inv_master), which the emulated SMMU times out
 *   (CMD_SYNC time-out: I-QUEUE) in the fixed kernel too.
 * - Devices without PRI. intel_iommu_drain_pasid_prq (prq.c, v6.17) sends its devTLB
 *   invalidation unconditionally, so a removed PRI device's drain times out once (qi_check_fault
 *   gives up with -ETIMEDOUT since 6ba59ff42279) in the fixed kernel as well.
 * - Devices alone in their group (the spec's precondition: group removal is not modelled).
 * A hand-written trace may still unplug any device alone in its group.
 */
export const unpluggable = (t: Topology): number[] => {
  if (t.platform !== 'vtd') return [];
  return t.devices.flatMap((d, i) =>
    !d.pri && t.devices.filter((o) => o.group === d.group).length === 1 ? [i] : []);
};

/**
 * No injection armed: failNext and failNth are legal (one at a time). Generation narrows
 * failNext to the platform's own sites (failSitesOf; another platform's would never fire) and
 * failNth to n in [1, FAIL_NTH_MAX] (no command makes more fallible calls).
 */
export const injectionIdle = (s: SpecState): boolean => s.failArmed === undefined && s.failNth === 0;

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
          for (let page = 0; page < t.pages; page++) for (const write of [false, true]) out.push({ kind, dev, mm, page, write });
        }
      }
      return out;
    case 'prefetch':
      for (const dev of presentDevs(s)) for (const mm of pasidSlots(s)) for (let page = 0; page < t.pages; page++) out.push({ kind, dev, mm, page });
      return out;
    case 'prefetchKernel':
      for (const dev of presentDevs(s)) for (const mm of pasidSlots(s)) for (let kpage = 0; kpage < t.kpages; kpage++) out.push({ kind, dev, mm, kpage });
      return out;
    case 'unplug':
      for (const dev of unpluggable(t)) if (s.unplugged[dev] === 0) out.push({ kind, dev });
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
      if (injectionIdle(s)) for (const site of failSitesOf(t.platform)) out.push({ kind, site });
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
