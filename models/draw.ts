/**
 * State-aware drawing: one command of a kind, its arguments taken from the live objects of
 * the spec state (a bind names a live mm, an unbind an existing bond, a DMA an mm with a
 * PASID), so every drawn command is legal and nothing is generated to be thrown away. The
 * sets are src/harness/enabled.ts's; the argument distributions are the ones the fast-check
 * arbitraries in models/commands/ use (page ranges of 1–3 pages mostly, sometimes the whole
 * tail). `undefined` when no command of the kind is legal now.
 */
import { DMA_PASIDS, EXITED, FREE, LIVE, MMAP_PROTS, MPROTECT_PROTS, enabledOfKind, failNextSites, injectionIdle, pasidSlots, prgDevices, presentDevs, ridGroups, slotsIn, unplugNow } from '../src/harness/enabled.js';
import type { Session } from '../src/harness/index.js';
import { CTXDESC_L2_ENTRIES } from '../src/hw/smmuv3/cdTable.js';
import type { World } from '../src/impl/index.js';
import type { ArmSmmuMaster } from '../src/impl/smmuv3/structs.js';
import type { Command, CommandKind, FailSite } from '../src/shared/index.js';
import { FAIL_NTH_MAX, IOVA_PAGES, NESTED_HWPT, NEST_PARENT_HWPT, PRG_MAX_REQUESTS } from '../src/shared/index.js';
import { PTE_ABSENT } from '../src/spec/state.js';
import type { SpecState } from '../src/spec/index.js';
import { priOnPaging } from '../src/spec/precondition.js';
import type { Rng } from './rng.js';

/** 1–3 pages four times in five, else the whole tail (models/ids.ts pageRange). */
const rangeCount = (rng: Rng, pages: number): number => (rng.below(5) < 4 ? 1 + rng.below(3) : pages);

/** IOVA page `page` of HWPT `hwpt` has a leaf (at both stages for the nested HWPT). */
const iovaTranslates = (s: SpecState, hwpt: number, page: number): boolean => {
  const h = s.hwpts[hwpt]!;
  if (h.pte[page] === PTE_ABSENT) return false;
  return hwpt !== NESTED_HWPT || s.hwpts[NEST_PARENT_HWPT]!.pte[h.gpa[page]!] !== PTE_ABSENT;
};

const LEAF_SITE: FailSite = 'dma_alloc_coherent@arm_smmu_alloc_cd_leaf_table';

/**
 * Whether some SMMUv3 master's next PASID attach allocates a CD leaf: its SSID space needs a
 * two-level table and leaf 0 (the small PASIDs the harness allocates) is not there yet. Read off
 * the world: the spec does not hold the driver's CD tables, and a leaf, once allocated, stays
 * until the master's release.
 */
const cdLeafAhead = (world: World): boolean => {
  for (const dev of world.devices) {
    const m = dev.priv as ArmSmmuMaster | undefined;
    if (m === undefined || 2 ** m.ssid_bits <= CTXDESC_L2_ENTRIES || dev.hw.disconnected) continue;
    if (m.cd_table.table === undefined || !m.cd_table.table.hasLeaf(1)) return true;
  }
  return false;
};

/** The RID attach's own site, which SMMUv3's runs never reach: they draw no RID attach (drawOfKind). */
const RID_INSERT_SITE: FailSite = 'xa_insert@iommu_attach_group_handle';

/**
 * failNext in `session`: one of failNextSites, the CD leaf-table allocation (SMMUv3) only while
 * a master has a leaf to allocate, and not the RID's xa_insert on SMMUv3 (a failNext armed
 * where no call will come blocks every other injection for the rest of the run; the leaf is
 * allocated once per master, on the few topologies whose SSID space needs two levels). One that neither this run nor the chunk's runs
 * before it (`failed`) have failed yet, while there is one: coverage feedback, so that the rare
 * sites (the leaf, the IOPF group allocation a stall's report makes) are not left to a uniform
 * pick among 13 (the default run failed 12 of SMMUv3's 13 with one).
 */
export const drawFailNext = (session: Session, rng: Rng, failed: ReadonlySet<FailSite>): Command | undefined => {
  const s = session.spec;
  if (!injectionIdle(s)) return undefined;
  let sites = failNextSites(s);
  if (s.t.topology.platform === 'smmuv3') {
    const leaf = cdLeafAhead(session.world);
    sites = sites.filter((site) => site !== RID_INSERT_SITE && (site !== LEAF_SITE || leaf));
  }
  const now = session.world.core.inject.failed;
  const untried = sites.filter((site) => !failed.has(site) && !now.has(site));
  return { kind: 'failNext', site: rng.pick(untried.length > 0 ? untried : sites) };
};

export const drawOfKind = (s: SpecState, kind: CommandKind, rng: Rng): Command | undefined => {
  const t = s.t.topology;
  switch (kind) {
    case 'bind': {
      const devs = presentDevs(s);
      const mms = slotsIn(s, LIVE);
      return devs.length === 0 || mms.length === 0 ? undefined : { kind, dev: rng.pick(devs), mm: rng.pick(mms) };
    }
    case 'unbind': {
      const held: number[] = [];
      for (let i = 0; i < s.bonds.length; i++) if (s.bonds[i]!.ctx.n > 0) held.push(i);
      if (held.length === 0) return undefined;
      const i = rng.pick(held);
      return { kind, dev: Math.floor(i / t.mms), mm: i % t.mms };
    }
    case 'mmap': {
      // An mm with a page no VMA covers, then such a page.
      const mms = slotsIn(s, LIVE).filter((mm) => s.slots[mm]!.vma.includes(0));
      if (mms.length === 0) return undefined;
      const mm = rng.pick(mms);
      const vma = s.slots[mm]!.vma;
      const free: number[] = [];
      for (let p = 0; p < t.pages; p++) if (vma[p] === 0) free.push(p);
      const first = rng.pick(free);
      let run = 0;
      while (first + run < t.pages && vma[first + run] === 0) run++;
      return { kind, mm, first, count: Math.min(rangeCount(rng, t.pages), run), prot: rng.pick(MMAP_PROTS) };
    }
    case 'touch': {
      const mms = slotsIn(s, LIVE);
      return mms.length === 0 ? undefined : { kind, mm: rng.pick(mms), page: rng.below(t.pages), write: rng.bool() };
    }
    case 'munmap': {
      const mms = slotsIn(s, LIVE);
      if (mms.length === 0) return undefined;
      const first = rng.below(t.pages);
      return { kind, mm: rng.pick(mms), first, count: Math.min(rangeCount(rng, t.pages), t.pages - first) };
    }
    case 'mprotect': {
      // An mm with a VMA, then a page it covers.
      const mms = slotsIn(s, LIVE).filter((mm) => s.slots[mm]!.vma.some((v) => v !== 0));
      if (mms.length === 0) return undefined;
      const mm = rng.pick(mms);
      const mapped: number[] = [];
      for (let p = 0; p < t.pages; p++) if (s.slots[mm]!.vma[p] !== 0) mapped.push(p);
      return { kind, mm, page: rng.pick(mapped), prot: rng.pick(MPROTECT_PROTS) };
    }
    case 'dma':
    case 'prefetch':
    case 'prefetchKernel': {
      const devs = presentDevs(s);
      const mms = pasidSlots(s);
      if (devs.length === 0 || mms.length === 0) return undefined;
      let dev = rng.pick(devs);
      let mm = rng.pick(mms);
      if (kind !== 'prefetchKernel' && priOnPaging(s, dev, mm)) {
        // A PRI device at a PASID only a paging domain holds in its group: another pair.
        const pairs: [number, number][] = [];
        for (const d of devs) for (const m of mms) if (!priOnPaging(s, d, m)) pairs.push([d, m]);
        if (pairs.length === 0) return undefined;
        [dev, mm] = rng.pick(pairs);
      }
      if (kind === 'prefetchKernel') return t.kpages === 0 ? undefined : { kind, dev, mm, kpage: rng.below(t.kpages) };
      const page = rng.below(t.pages);
      return kind === 'dma' ? { kind, dev, mm, page, write: rng.bool() } : { kind, dev, mm, page };
    }
    case 'unplug': {
      const devs = unplugNow(s);
      return devs.length === 0 ? undefined : { kind, dev: rng.pick(devs) };
    }
    case 'prg': {
      // As models/commands/prg.ts: one RID group in five, one held-back LAST in five.
      const devs = prgDevices(t).filter((d) => s.unplugged[d] === 0);
      if (devs.length === 0) return undefined;
      const dev = rng.pick(devs);
      const page = rng.below(t.pages);
      const count = Math.min(1 + rng.below(PRG_MAX_REQUESTS), t.pages - page);
      const write = rng.bool();
      const bound = s.t.devMax[dev]! > 0 ? slotsIn(s, LIVE).filter((mm) => s.bonds[dev * t.mms + mm]!.ctx.n > 0) : [];
      if (!ridGroups(t)) {
        if (bound.length === 0) return undefined;
      } else if (bound.length === 0 || rng.below(5) === 0) return { kind, dev, mm: 0, page, count, write, rid: true, last: true };
      return { kind, dev, mm: rng.pick(bound), page, count, write, rid: false, last: rng.below(5) !== 0 };
    }
    case 'exit':
    case 'mmdrop':
    case 'spawn': {
      const mms = slotsIn(s, kind === 'exit' ? LIVE : kind === 'mmdrop' ? EXITED : FREE);
      return mms.length === 0 ? undefined : { kind, mm: rng.pick(mms) };
    }
    case 'fork': {
      const parents = slotsIn(s, LIVE);
      const children = slotsIn(s, FREE);
      return parents.length === 0 || children.length === 0 ? undefined : { kind, mm: rng.pick(parents), child: rng.pick(children) };
    }
    case 'gracePeriod':
    case 'serviceFaults':
      return { kind };
    case 'vmalloc':
    case 'vfree': {
      const want = kind === 'vfree' ? 1 : 0;
      const ks: number[] = [];
      for (let k = 0; k < t.kpages; k++) if (s.kMapped[k] === want) ks.push(k);
      return ks.length === 0 ? undefined : { kind, kpage: rng.pick(ks) };
    }
    case 'failNext':
      return injectionIdle(s) ? { kind, site: rng.pick(failNextSites(s)) } : undefined;
    case 'failNth':
      return injectionIdle(s) ? { kind, n: 1 + rng.below(FAIL_NTH_MAX) } : undefined;
    case 'dmaPasid': {
      const devs = presentDevs(s).filter((d) => !s.t.devPri[d]);
      return devs.length === 0 ? undefined : { kind, dev: rng.pick(devs), pasid: rng.pick(DMA_PASIDS), page: rng.below(t.pages), write: rng.bool() };
    }
    case 'migrate': {
      const mms = slotsIn(s, LIVE);
      return mms.length === 0 ? undefined : { kind, mm: rng.pick(mms), page: rng.below(t.pages) };
    }
    case 'guestMap': {
      // Aimed, three times in four, at a GPA page the parent maps: a guest leaf over an unmapped
      // GPA only ever faults, and the parent's unmap reaches nested entries only if one was cached.
      const h = s.hwpts[NESTED_HWPT]!;
      if (!h.allocated) return undefined;
      const pages: number[] = [];
      const backed: number[] = [];
      for (let p = 0; p < IOVA_PAGES; p++) {
        if (h.pte[p] === PTE_ABSENT) pages.push(p);
        if (s.hwpts[NEST_PARENT_HWPT]!.pte[p] !== PTE_ABSENT) backed.push(p);
      }
      if (pages.length === 0) return undefined;
      const gpa = backed.length > 0 && rng.below(4) !== 0 ? rng.pick(backed) : rng.below(IOVA_PAGES);
      return { kind, page: rng.pick(pages), gpa, write: rng.bool() };
    }
    case 'dmaIova': {
      // Aimed, three times in four, at a page its HWPT translates (through both stages for the
      // nested one): a guest table is sparse, and a stale entry shows only once one was cached.
      const all = enabledOfKind(s, kind);
      if (all.length === 0) return undefined;
      const mapped = all.filter((c) => c.kind === 'dmaIova' && iovaTranslates(s, c.hwpt, c.page));
      return mapped.length > 0 && rng.below(4) !== 0 ? rng.pick(mapped) : rng.pick(all);
    }
    // The paging-domain commands: their sets are a few dozen commands at most (three HWPTs, four
    // IOVA pages), so they are drawn from the enumeration itself.
    case 'attachPasid': {
      // SMMUv3's RID attach is enumerated (the explorer, traces) but not drawn: with it drawn,
      // R03 was found on 9/10 seeds (median 321 runs to the first failure against 181); why
      // those states hide R03's window is not understood yet.
      const all = enabledOfKind(s, kind);
      const drawn = s.t.topology.platform === 'smmuv3' ? all.filter((c) => c.kind !== 'attachPasid' || c.pasid !== 0) : all;
      return drawn.length === 0 ? undefined : rng.pick(drawn);
    }
    case 'replacePasid':
    case 'detachPasid':
    case 'iommuMap':
    case 'iommuUnmap':
    case 'guestUnmap':
    case 'destroyHwpt':
    // A PRI device's bonds whose groups are finished: a handful at most.
    case 'stopMarker': {
      const all = enabledOfKind(s, kind);
      return all.length === 0 ? undefined : rng.pick(all);
    }
    default: {
      const never: never = kind;
      throw new Error(`drawOfKind: unknown kind ${String(never)}`);
    }
  }
};
