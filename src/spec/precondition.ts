/**
 * The kernel's caller contracts (contracts.md "Caller contracts"): a command is legal in a
 * state iff this holds. Generators use it as fast-check `check`; the step assumes it.
 */
import type { Command } from '../shared/index.js';
import { MM, VMA_NONE } from './state.js';
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
        slotIn(s, cmd.mm, UNFREED) && s.slots[cmd.mm]!.pasid.ctx.pasid !== 0;
    case 'prefetchKernel':
      return present(s, cmd.dev) && inRange(cmd.kpage, kpages) &&
        slotIn(s, cmd.mm, UNFREED) && s.slots[cmd.mm]!.pasid.ctx.pasid !== 0;
    case 'unplug':
      // The harness does not model iommu_group_remove_device, so a removed device must have
      // had its group to itself: no sibling can attach a PASID to it afterwards.
      return present(s, cmd.dev) && s.t.groupDevs[s.t.devGroup[cmd.dev]!]!.length === 1;
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
