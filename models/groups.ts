/**
 * Concurrent groups for the state-aware generator (issue 11): with probability `rate` a step is
 * 2–3 commands run as tasks under one scheduler (src/harness/group.ts runChecked), drawn so
 * that every order of them is legal (groupLegal) and biased toward the pairs whose races the
 * kernel's history holds: bind/unbind/exit/munmap/mprotect/serviceFaults/attachPasid/
 * replacePasid against each other and against the device's DMA and page requests on the same
 * mm or device. The scheduler is PCT (d = 2 or 3) or random, seeded from the run's Rng, so a
 * run stays a pure function of its seed; the trace records the seed and the switches taken.
 */
import type { Session } from '../src/harness/index.js';
import { LIN_ID, groupLegal, runChecked } from '../src/harness/group.js';
import { pctPolicy, randomPolicy } from '../src/sched/policies.js';
import type { Policy } from '../src/sched/types.js';
import { IOVA_PAGES, NESTED_HWPT, type Command, type CommandKind } from '../src/shared/index.js';
import { MM, PTE_ABSENT, VMA_R, VMA_RW } from '../src/spec/state.js';
import { ATTACH_SITES, precondition } from '../src/spec/index.js';
import { injectionArmed } from '../src/harness/index.js';
import { injectionIdle, prgDevices } from '../src/harness/enabled.js';
import { drawOfKind } from './draw.js';
import { atRid, pasidArrayInUse, ridAt, ridGroupable, ridTakes } from '../src/spec/rid.js';
import type { Rng } from './rng.js';
import type { RunStats } from './stats.js';

/**
 * Share of steps that are groups in `sva-harness run` and `npm run bench:faults` unless --groups
 * says otherwise. At 0.15 a run of 60 commands holds about eight groups, and the sequential
 * steps between them still build the states the groups race in.
 */
export const DEFAULT_GROUP_RATE = 0.15;
/** The schedulers a generated group may use; `mix` = half PCT, half random. */
export type GroupScheduler = 'random' | 'pct' | 'mix';
export const GROUP_SCHEDULERS: readonly GroupScheduler[] = ['random', 'pct', 'mix'];

export interface GroupOptions {
  /** Probability that a step is a group; 0 = none, and no Rng draw is made for it. */
  readonly rate: number;
  readonly scheduler: GroupScheduler;
  /** PCT's d; undefined = 2 or 3, drawn per group. */
  readonly depth?: number;
}

/** The kinds whose concurrent pairs the SVA history has races in (issue 11's list). */
const RACY: readonly CommandKind[] = ['bind', 'unbind', 'exit', 'munmap', 'mprotect', 'touch', 'fork', 'migrate', 'gracePeriod', 'serviceFaults', 'attachPasid', 'replacePasid', 'dma', 'prg', 'dmaPasid'];
/** Draws before a group gives up and the step runs one command instead. */
const GROUP_TRIES = 4;
/** Draws of a partner before one that shares no mm or device with the first member is taken. */
const PARTNER_TRIES = 3;
/**
 * PCT needs the run's length k in advance. Before a run's first group, a guess per member;
 * afterwards the mean points per member of the run's own groups so far (deterministic: it
 * depends on this run only).
 */
const FIRST_POINTS_PER_MEMBER = 16;

const mmOf = (c: Command): number | undefined => ('mm' in c && typeof c.mm === 'number' ? c.mm : undefined);
const devOf = (c: Command): number | undefined => ('dev' in c && typeof c.dev === 'number' ? c.dev : undefined);
const shares = (a: Command, b: Command): boolean =>
  (mmOf(a) !== undefined && mmOf(a) === mmOf(b)) || (devOf(a) !== undefined && devOf(a) === devOf(b)) || mmOf(b) === undefined;

/**
 * The device and the mm of `a` are both `b`'s: the shape of the published SVA races (a bind and
 * the device's DMA or page request at that PASID, an unbind and a fault on it), which one shared
 * object alone makes rare in 3-member groups (R03 needs bind, DMA and munmap of one pair).
 */
const samePair = (a: Command, b: Command): boolean =>
  mmOf(a) !== undefined && devOf(a) !== undefined && mmOf(a) === mmOf(b) && devOf(a) === devOf(b);

/**
 * Whether the run enables kind k for a group. dmaPasid has no sequential weight (weights.ts):
 * it goes wherever the run's device accesses do.
 */
const groupEnables = (kinds: ReadonlySet<CommandKind>, k: CommandKind): boolean =>
  kinds.has(k) || (k === 'dmaPasid' && (kinds.has('dma') || kinds.has('dmaIova')));

/** One racy command of a kind the run enables, or undefined. */
const drawRacy = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command | undefined => {
  const k = RACY[rng.below(RACY.length)]!;
  if (!groupEnables(kinds, k)) return undefined;
  const c = drawOfKind(session.spec, k, rng);
  return c === undefined || atRid(session.spec, c) ? undefined : c;
};

/**
 * A replace's natural partner: the device's DMA at the PASID being replaced (R05's race, the
 * window of spec/paging.ts replaceHasWindow), on a page both HWPTs map when there is one (a
 * result that tells the old entry, the new one and a torn one apart). Undefined for any other
 * first member, a device with PRI, or half the time (the partner is drawn as usual).
 */
const aimedPartner = (session: Session, first: Command, kinds: ReadonlySet<CommandKind>, rng: Rng): Command | undefined => {
  if (first.kind !== 'replacePasid' || !groupEnables(kinds, 'dmaPasid') || !rng.bool()) return undefined;
  const s = session.spec;
  if (s.t.devPri[first.dev]) return undefined;
  const pasid = s.hwpts[first.from]!.pasid[s.t.devGroup[first.dev]!]!;
  // Best a page both HWPTs map (old, torn and new entry all differ), else one either maps.
  const both: number[] = [];
  const either: number[] = [];
  for (let p = 0; p < IOVA_PAGES; p++) {
    const inOld = s.hwpts[first.from]!.pte[p] !== PTE_ABSENT;
    const inNew = s.hwpts[first.hwpt]!.pte[p] !== PTE_ABSENT;
    if (inOld && inNew) both.push(p);
    if (inOld || inNew) either.push(p);
  }
  const page = both.length > 0 ? rng.pick(both) : either.length > 0 ? rng.pick(either) : rng.below(IOVA_PAGES);
  return { kind: 'dmaPasid', dev: first.dev, pasid, page, write: rng.bool() };
};

/** The device holds some PASID now: a bond to a live or exiting mm, or a paging HWPT at a PASID. */
const usesPasid = (s: Session['spec'], dev: number): boolean => {
  const t = s.t.topology;
  for (let mm = 0; mm < t.mms; mm++) if (s.bonds[dev * t.mms + mm]!.ctx.n > 0) return true;
  const group = s.t.devGroup[dev]!;
  return s.hwpts.some((h) => h.pasid[group] !== 0);
};

/**
 * The (device, mm) pairs of R03's shape by tier: no ATS master on the domain and the device's
 * ATS already on; no ATS master; the rest. With `firstOnly`, stops at the first tier-0 pair.
 */
const atsRacePairs = (s: Session['spec'], firstOnly: boolean): [number, number][][] => {
  const t = s.t.topology;
  const tiers: [number, number][][] = [[], [], []];
  for (let mm = 0; mm < t.mms; mm++) {
    const sl = s.slots[mm]!;
    if (sl.mm.state !== MM.live || sl.domains.length === 0 || !sl.pte.some((p) => p !== PTE_ABSENT)) continue;
    for (let dev = 0; dev < t.devices.length; dev++) {
      const d = t.devices[dev]!;
      if (!d.ats || s.unplugged[dev] !== 0 || s.t.devMax[dev] === 0 || s.bonds[dev * t.mms + mm]!.ctx.n > 0) continue;
      const domain = sl.domains.find((x) => t.platform !== 'smmuv3' || x.iommu === d.iommu);
      if (domain === undefined || domain.groups.includes(s.t.devGroup[dev]!)) continue;
      const atsMaster = t.devices.some((o, i) => o.ats && domain.groups.includes(s.t.devGroup[i]!));
      const tier = atsMaster ? 2 : usesPasid(s, dev) ? 0 : 1;
      tiers[tier]!.push([dev, mm]);
      if (firstOnly && tier === 0) return tiers;
    }
  }
  return tiers;
};

/**
 * Whether the state holds R03's best pair (tier 0) on SMMUv3, whose invalidation reads the ATS
 * count without the devices lock (arm_smmu_atc_inv_domain): the generator then makes the step a
 * group more often, as it does with an injection armed, since such states are rare and pass
 * quickly. VT-d and AMD walk their device lists under a lock and have no such count.
 */
export const atsRaceReady = (session: Session, kinds: ReadonlySet<CommandKind>): boolean =>
  session.spec.t.topology.platform === 'smmuv3' && kinds.has('dma') && kinds.has('munmap') && atsRacePairs(session.spec, true)[0]!.length > 0;

/**
 * R03's set-up, now and then (one step in two of those whose state allows it): with no
 * tier-0 pair but a tier-1 one (an ATS device that uses no PASID yet, an mm whose domain has no
 * ATS master), the device's bind to another live mm it is not bound to. SMMUv3 turns ATS on
 * with the device's first CD table, so the pair becomes tier 0, whose window is the whole
 * attach (atsAttachRace). Undefined otherwise.
 */
export const atsRaceSetup = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command | undefined => {
  const s = session.spec;
  if (s.t.topology.platform !== 'smmuv3' || !kinds.has('bind') || !kinds.has('dma') || !kinds.has('munmap')) return undefined;
  const tiers = atsRacePairs(s, false);
  if (tiers[0]!.length > 0 || tiers[1]!.length === 0 || rng.below(2) !== 0) return undefined;
  const [dev, mm] = rng.pick(tiers[1]!);
  const t = s.t.topology;
  const others: number[] = [];
  for (let o = 0; o < t.mms; o++) if (o !== mm && s.slots[o]!.mm.state === MM.live && s.bonds[dev * t.mms + o]!.ctx.n === 0) others.push(o);
  if (others.length === 0) return undefined;
  const bind: Command = { kind: 'bind', dev, mm: rng.pick(others) };
  return precondition(s, bind) ? bind : undefined;
};

/**
 * R03's shape, found from the state: an ATS device's bind to an mm whose domain on that IOMMU
 * already serves other devices (the attach joins a live domain, raising its ATS count), with
 * the device's DMA at a mapped page and another CPU's munmap of it: the two columns of
 * arm_smmu_atc_inv_domain's diagram (an ATC filled while the attach enables ATS, and an
 * invalidation that must reach it). A domain without an ATS master yet first, and among those a
 * device that already uses a PASID elsewhere: its ATS is on from that attach (SMMUv3 enables
 * it with the CD table), so the window is the whole attach from the devices-list add on, not
 * the one lock between pci_enable_ats and the count. Undefined when the state has no such pair.
 */
const atsAttachRace = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  if (!kinds.has('dma') || !kinds.has('munmap')) return undefined;
  const s = session.spec;
  const tiers = atsRacePairs(s, false);
  const pool = tiers.find((x) => x.length > 0);
  if (pool === undefined) return undefined;
  const [dev, mm] = rng.pick(pool);
  const mapped: number[] = [];
  const pte = s.slots[mm]!.pte;
  for (let p = 0; p < pte.length; p++) if (pte[p] !== PTE_ABSENT) mapped.push(p);
  const page = rng.pick(mapped);
  return [{ kind: 'bind', dev, mm }, { kind: 'dma', dev, mm, page, write: rng.bool() }, { kind: 'munmap', mm, first: page, count: 1 }];
};

/**
 * R04's shape, with an injection armed: a PRI device's bind to a live mm that holds a PASID it
 * is not bound to, which the injection may fail inside its attach, the device's page request
 * at that PASID (an endpoint may send one before the bind returns: spec/precondition.ts prg),
 * and serviceFaults to report and handle it. On SMMUv3 the request is the stall master's own
 * access: a stall is raised only through the CD that the group's first master has live while
 * the second one's attach fails (spec/attaching.ts). Undefined when the state has no such pair.
 */
const failedAttachRace = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  const s = session.spec;
  const smmu = s.t.topology.platform === 'smmuv3';
  if (!injectionArmed(s) || !kinds.has(smmu ? 'dma' : 'prg')) return undefined;
  const t = s.t.topology;
  const pairs = failedAttachPairs(s, false);
  if (pairs.length === 0) return undefined;
  // SMMUv3: the pair the arming counted its failNth for (failedAttachNth).
  const [dev, mm] = smmu ? pairs[0]! : rng.pick(pairs);
  if (smmu) {
    // A page the CPU has not populated, so that the access stalls rather than translates; in a
    // VMA that allows it, so that the handle's work resolves it and answers Success where
    // mainline aborts the stall (LIN) even when the work runs before the unwind frees the handle.
    const { pte, vma } = s.slots[mm]!;
    const resolvable: number[] = [];
    const absent: number[] = [];
    for (let p = 0; p < pte.length; p++) {
      if (pte[p] !== PTE_ABSENT) continue;
      absent.push(p);
      if (vma[p] === VMA_R || vma[p] === VMA_RW) resolvable.push(p);
    }
    const page = resolvable.length > 0 ? rng.pick(resolvable) : absent.length > 0 ? rng.pick(absent) : rng.below(t.pages);
    const write = vma[page] === VMA_RW ? rng.bool() : vma[page] === VMA_R ? false : rng.bool();
    return [{ kind: 'bind', dev, mm }, { kind: 'dma', dev, mm, page, write }, { kind: 'serviceFaults' }];
  }
  const page = rng.below(t.pages);
  return [{ kind: 'bind', dev, mm }, { kind: 'prg', dev, mm, page, count: 1, write: rng.bool(), rid: false, last: true }, { kind: 'serviceFaults' }];
};

/**
 * The devices R04's request can come from. VT-d and AMD: every PRI endpoint. SMMUv3: a stall
 * master that is its group's first PASID device with another after it, whose attach an
 * injection can fail after the master's CD went live.
 */
const failedAttachDevices = (s: Session['spec']): number[] => {
  const t = s.t.topology;
  if (t.platform !== 'smmuv3') return prgDevices(t);
  const out: number[] = [];
  for (const group of s.t.groupDevs) {
    const pasidDevs = group.filter((d) => s.t.devMax[d]! > 0);
    if (pasidDevs.length > 1 && s.t.devPri[pasidDevs[0]!]) out.push(pasidDevs[0]!);
  }
  return out;
};

/** R04's (device, mm) pairs: the mm is live and holds a PASID the device's group is not bound to. With `firstOnly`, at most one. */
const failedAttachPairs = (s: Session['spec'], firstOnly: boolean): [number, number][] => {
  const t = s.t.topology;
  const pairs: [number, number][] = [];
  for (const dev of failedAttachDevices(s)) {
    if (s.unplugged[dev] !== 0 || s.t.devMax[dev] === 0) continue;
    for (let mm = 0; mm < t.mms; mm++) {
      const sl = s.slots[mm]!;
      const pasid = sl.pasid.ctx.pasid;
      const group = s.t.devGroup[dev]!;
      if (sl.mm.state !== MM.live || pasid === 0 || sl.handles[group] !== undefined) continue;
      // A PASID past a group device's max_pasids fails the attach before any driver call (-EINVAL).
      if (s.t.groupDevs[group]!.some((d) => s.t.devMax[d]! > 0 && pasid >= s.t.devMax[d]!)) continue;
      // SMMUv3 with no domain of the mm on the group's SMMU and no ASID left: the new domain fails first (-EBUSY).
      if (t.platform === 'smmuv3' && !sl.domains.some((d) => d.iommu === t.devices[dev]!.iommu) && s.asids.size >= 2 ** t.iommus[t.devices[dev]!.iommu]!.asidBits - 1) continue;
      pairs.push([dev, mm]);
      if (firstOnly) return pairs;
    }
  }
  return pairs;
};

/**
 * Whether the step after SMMUv3's R04 arming must be its group: the failNth armed counts only
 * the next command's calls, so a sequential step would spend it (the state is rare: a stall
 * master first in a group of two PASID devices, and an mm with a PASID they do not use).
 */
export const failedAttachReady = (session: Session, kinds: ReadonlySet<CommandKind>): boolean =>
  session.spec.t.topology.platform === 'smmuv3' && session.spec.failNth > 0 && kinds.has('dma') && failedAttachPairs(session.spec, true).length > 0;

/**
 * failNth's n for SMMUv3's R04 arming: a call of the second master's arm_smmu_set_pasid in a
 * bind by `dev` (its group's first master) to `mm`, counted as iommu_sva_bind_device makes
 * them (a script's failNth sweep over a pair of stall masters saw 7 and 8 there): the handle;
 * an xa_insert per attempt on the mm's domains until one of the group's SMMU, which attaches;
 * else the new domain and its ASID, and its xa_insert; the first master's master_domain and,
 * for a stall master not yet on its IOPF queue, iopf_queue_add_device. What the spec cannot
 * see adds calls before: a master's first CD table, the mm's first notifier subscriptions.
 * Both outlive a failed bind, so the failure then falls on an earlier call, the state is as
 * before, and the next arming's n meets the second master. A guess past the bind's last call
 * instead would let the bind succeed and end the state.
 */
const failedAttachNth = (s: Session['spec'], dev: number, mm: number): number => {
  const sl = s.slots[mm]!;
  const iommu = s.t.topology.devices[dev]!.iommu;
  let calls = 1; // kzalloc@iommu_sva_bind_device: the handle
  let attaches = false;
  for (const d of sl.domains) {
    calls++; // this attempt's xa_insert@iommu_attach_device_pasid
    if (d.iommu === iommu) {
      attaches = true;
      break;
    }
  }
  // A new domain: arm_smmu_domain_alloc, its ASID's xa_alloc, its attach's xa_insert.
  if (!attaches) calls += 3;
  // The first master's master_domain, and its IOPF queue while no SVA domain has put it there.
  const group = s.t.devGroup[dev]!;
  calls += 1 + (s.t.devPri[dev] && s.slots.every((o) => o.handles[group] === undefined) ? 1 : 0);
  return calls + 1; // the second master's first
};

/**
 * R04's arming: with no injection armed and a pair of its shape in the state, now and then an
 * injection past the handle's publication. On AMD a failNext at one of the driver's
 * set_dev_pasid calls (spec/attaching.ts ATTACH_SITES), where the window is two calls wide;
 * on SMMUv3 a failNth aimed at the second master's attach (a failNext at any of its sites fails
 * the first master's, which makes the same calls). Not on VT-d: its default draws already find
 * it on every seed; armed there as often, the grouped runs met spec gaps not yet closed then,
 * clean I-PRI-ONCE and LIN, and linearizations of injected groups that doubled the run's time.
 * Its group (failedAttachRace) then follows an injection that can open the window.
 */
export const failedAttachArming = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command | undefined => {
  const s = session.spec;
  const platform = s.t.topology.platform;
  if (platform === 'vtd') return undefined;
  const smmu = platform === 'smmuv3';
  if (!kinds.has(smmu ? 'dma' : 'prg') || !kinds.has(smmu ? 'failNth' : 'failNext') || !injectionIdle(s)) return undefined;
  const pairs = failedAttachPairs(s, true);
  if (pairs.length === 0) return undefined;
  // One step in eight of those whose state allows it (SMMUv3's rarer state, which a failed bind
  // leaves as it was: every one): drawn only here, so VT-d's runs make no draw.
  if (!smmu && rng.below(8) !== 0) return undefined;
  if (smmu) return { kind: 'failNth', n: failedAttachNth(s, pairs[0]![0], pairs[0]![1]) };
  return { kind: 'failNext', site: rng.pick([...ATTACH_SITES[platform]]) };
};

/**
 * A VT-d RID attach's race, whenever the state allows it: an ATS device without PRI, alone in its
 * group, with no HWPT at its RID and nothing attached at its PASIDs unless its ownership is taken
 * already (the claim would refuse it), its RID attach of a paging HWPT that maps a page, its DMA
 * at the RID (dmaPasid at PASID 0) on that page, and the unmap of it: the entry the attach writes
 * is live before its cache tags (finding vtd-rid-attach-tags-after-entry). Undefined otherwise.
 */
const ridAttachRace = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  const s = session.spec;
  const t = s.t.topology;
  if (t.platform !== 'vtd' || !kinds.has('attachPasid') || !kinds.has('iommuUnmap') || !groupEnables(kinds, 'dmaPasid')) return undefined;
  const pairs: [number, number, number][] = [];
  for (let dev = 0; dev < t.devices.length; dev++) {
    if (!t.devices[dev]!.ats || s.t.devPri[dev] || s.unplugged[dev] !== 0) continue;
    const group = s.t.devGroup[dev]!;
    const attach: Command = { kind: 'attachPasid', dev, hwpt: 0, pasid: 0 };
    if (!ridGroupable(s, attach, [attach]) || ridAt(s, group) !== undefined) continue;
    if (s.ridOwned[group] === 0 && pasidArrayInUse(s, group)) continue;
    for (let hwpt = 0; hwpt < s.hwpts.length; hwpt++) {
      const h = s.hwpts[hwpt]!;
      if (hwpt === NESTED_HWPT || !h.allocated || !ridTakes(s, dev, hwpt, true)) continue;
      for (let page = 0; page < IOVA_PAGES; page++) if (h.pte[page] !== PTE_ABSENT && page < t.pages) pairs.push([dev, hwpt, page]);
    }
  }
  if (pairs.length === 0) return undefined;
  const [dev, hwpt, page] = rng.pick(pairs);
  return [{ kind: 'attachPasid', dev, hwpt, pasid: 0 }, { kind: 'dmaPasid', dev, pasid: 0, page, write: false }, { kind: 'iommuUnmap', hwpt, page }];
};

/**
 * A group of a race shape the state allows, or undefined: R04's when an injection is armed,
 * else R03's whenever the state holds its pair (rare: an ATS device joining a domain with no
 * ATS master yet), else a VT-d RID attach's whenever the state allows one (ridAttachRace).
 */
const aimedGroup = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  const failed = failedAttachRace(session, kinds, rng);
  if (failed !== undefined && groupLegal(session.spec, failed)) return failed;
  const ats = atsAttachRace(session, kinds, rng);
  if (ats !== undefined && groupLegal(session.spec, ats)) return ats;
  const rid = ridAttachRace(session, kinds, rng);
  return rid !== undefined && groupLegal(session.spec, rid) ? rid : undefined;
};

/** 2–3 commands that groupLegal accepts, or undefined after a few tries. */
export const drawGroup = (session: Session, kinds: ReadonlySet<CommandKind>, rng: Rng): Command[] | undefined => {
  const aimed = aimedGroup(session, kinds, rng);
  if (aimed !== undefined) return aimed;
  for (let t = 0; t < GROUP_TRIES; t++) {
    const first = drawRacy(session, kinds, rng);
    if (first === undefined) continue;
    const cmds = [first];
    const size = rng.below(4) === 0 ? 3 : 2;
    while (cmds.length < size) {
      let next: Command | undefined = cmds.length === 1 ? aimedPartner(session, first, kinds, rng) : undefined;
      if (next !== undefined) {
        cmds.push(next);
        continue;
      }
      let rank = -1;
      for (let p = 0; p < PARTNER_TRIES && rank < 2; p++) {
        const c = drawRacy(session, kinds, rng);
        if (c === undefined) continue;
        const r = samePair(first, c) ? 2 : shares(first, c) ? 1 : 0;
        if (r > rank) {
          next = c;
          rank = r;
        }
      }
      if (next === undefined) break;
      cmds.push(next);
    }
    if (cmds.length >= 2 && groupLegal(session.spec, cmds)) return cmds;
  }
  return undefined;
};

/** Per run: the running mean of points per member, for PCT's k. */
export class GroupPacer {
  private points = 0;
  private members = 0;
  expected(n: number): number {
    return Math.max(n, Math.round(n * (this.members === 0 ? FIRST_POINTS_PER_MEMBER : this.points / this.members)));
  }
  note(n: number, points: number): void {
    this.members += n;
    this.points += points;
  }
}

/** Runs `cmds` as one checked group under the drawn scheduler; true when a violation was found. */
export const runDrawnGroup = (session: Session, cmds: readonly Command[], opts: GroupOptions, rng: Rng, pacer: GroupPacer, stats: RunStats): boolean => {
  const pct = opts.scheduler === 'pct' || (opts.scheduler === 'mix' && rng.bool());
  const seed = rng.below(0x7fffffff);
  const depth = pct ? (opts.depth ?? 2 + rng.below(2)) : undefined;
  const policy: Policy = pct ? pctPolicy(seed, depth!, pacer.expected(cmds.length)) : randomPolicy(seed);
  for (const c of cmds) {
    stats.noteCheck(c.kind, true);
    stats.noteRun(c.kind);
  }
  const r = runChecked(session, cmds, policy, { scheduler: pct ? 'pct' : 'random', seed, ...(depth === undefined ? {} : { depth }) });
  if (r.run !== undefined) pacer.note(cmds.length, r.run.points);
  stats.noteGroup(r.run, r.found.some((v) => v.invariant === LIN_ID));
  return r.found.length > 0;
};
