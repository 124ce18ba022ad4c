/**
 * Linearization points of a command, for the concurrent oracle (src/harness/group.ts): most
 * commands take effect at one point; a replace on a platform whose mainline has a window
 * (paging.ts replaceHasWindow) takes effect at two, the old entry's teardown and the new
 * entry's setup, and a device access linearized between them sees no present entry. A
 * migrate takes effect at two as well, its migration entry and the new frame's PTE
 * (migrate.ts): a device access between them finds the page absent. A PRI device's last unbind
 * by its caller first stops the device's use of the PASID (bind.ts unbindStop); an unbind that
 * drops its handle's last user tears the entries down before it erases the handle
 * (detaching.ts): in a group it has three points, an access between the first two finding its
 * credits back and the entry present, one after the second no entry, and a serviceFaults pass
 * after the second handling a request whose retry then fails; where two members access from two
 * devices of its group, a teardown point per PASID device (a bind's attempt likewise sets them
 * up one per point: attaching.ts). An exit of an mm some device has
 * the PASID of takes effect at two, its release begun and the rest (releasing.ts): a device
 * access between them may find its own device released already.
 *
 * serviceFaults is a loop, not one instant: each IOMMU's fault thread reads its queue and, at
 * the end of its loop, takes what came in meanwhile (two points), and the IOPF workqueue runs
 * each item on a kworker of its own, so another task may run between two items (pri.ts
 * servicePoint). In a group it has both points of every IOMMU's thread and a point per work
 * item: one for every group queued when it starts (a LAST in the queues) and one for every
 * member (each device-side member sends its requests once, so that many cover every arrival
 * order). Its value is the requests answered Success over all points; a point that finds
 * nothing queued changes nothing, so the points back to back are the sequential command.
 *
 * In a group, an attach or replace whose HWPT is not allocated yet first allocates it at a
 * point of its own: the harness allocates lazily what the VMM allocates by an ioctl before the
 * attach (src/impl/iommufd.ts hwptDomain), so its ASID may come before a concurrent bind's while
 * the attach itself linearizes after it.
 */
import type { Command, Observation } from '../shared/index.js';
import { endAttaching, mayStopPartway, pasidDevs, svaAccepted } from './attaching.js';
import { endDetaching, unbindTeardown } from './detaching.js';
import { releaseBegin, releaseEnd } from './releasing.js';
import { OK_OBS } from './observe.js';
import { bind, bindExisting, bindNew, bindPasid, bindSetUp, endStopping, unbindDrainRead, unbindDrainRelease, unbindHandle, unbindStopping } from './bind.js';
import { drainEnd, drainRelease } from './pri.js';
import { migrateRemap, migrateUnmap } from './migrate.js';
import { queuedFaults, servicePoint } from './pri.js';
import {
  attachPasidTry, attachPasidUnwound, hasPagingDomains, hwptAllocPoint, hwptUnallocated, replaceDrainEnd, replaceDrainRead, replaceDrainRelease, replaceHasWindow,
  replaceSetup, replaceTeardown,
} from './paging.js';
import { ALL_THREAD_POINTS, type SpecState, type ThreadPoints, inMask } from './state.js';
import { specStep } from './step.js';

/** Whether `cmd`, in a group of `size`, starts with its HWPT's allocation point (paging.ts hwptUnallocated). */
export const allocatesFirst = (s: SpecState, cmd: Command, size: number): boolean =>
  size > 1 && (cmd.kind === 'attachPasid' || cmd.kind === 'replacePasid') && hwptUnallocated(s, cmd.hwpt);

/** Whether an attach or replace given `points` has its HWPT allocation as point 0: one more than its own. */
const allocatedFirst = (s: SpecState, cmd: Command, points: number): cmd is Command & { kind: 'attachPasid' | 'replacePasid' } =>
  (cmd.kind === 'attachPasid' && points >= 2) ||
  // A windowed replace has 2 points of its own, or 4 with its drain's (drainSplits).
  (cmd.kind === 'replacePasid' && (replaceHasWindow(s.t.topology.platform) ? points === 3 || points === 5 : points === 2));

/**
 * Whether a bind in a group of `size` tries the mm's existing domains before it allocates one:
 * each attempt is an iommu_attach_device_pasid of its own, so the allocation is a second point
 * (bind.ts bindExisting, bindNew). Not when the group already holds a handle (users++ only).
 */
const bindRetries = (s: SpecState, cmd: Command & { kind: 'bind' }, size: number): boolean => {
  const sl = s.slots[cmd.mm]!;
  return size > 1 && sl.domains.length > 0 && sl.handles[s.t.devGroup[cmd.dev]!] === undefined;
};

/**
 * Whether a bind in `group` (its commands) has points before each attempt where the attempt
 * has set up its devices (attaching.ts): where it can stop partway (mayStopPartway); where
 * a member's access by a PRI device (or stall master) of its group may raise a request that a
 * serviceFaults member answers before the handle is published: the request finds the
 * reservation and is answered Invalid (smmuv3 seed 301729: a stall raised through the CD before
 * xa_store, aborted by the event-queue thread, while the bind succeeded); and where two members
 * access from two devices of its group, which may see one device set up and the other not yet
 * (bench:faults R03, smmuv3 seed 2501730: dev0's DMA walked its new CD, then dev1's found no CD
 * at the PASID, and the bind succeeded). Elsewhere the window shows nothing an order of the
 * members does not.
 */
const bindSetsUp = (s: SpecState, cmd: Command & { kind: 'bind' }, group: readonly Command[] | undefined): boolean => {
  if (group === undefined || group.length <= 1) return false;
  const g = s.t.devGroup[cmd.dev]!;
  if (mayStopPartway(s, g) || accessedFromTwo(s, g, group)) return true;
  let access = false, answers = false;
  for (const c of group) {
    if ((c.kind === 'dma' || c.kind === 'dmaPasid') && s.t.devGroup[c.dev] === g && s.t.devPri[c.dev]) access = true;
    else if (c.kind === 'serviceFaults') answers = true;
  }
  return access && answers;
};

/** Whether two members of `group` access (dma, dmaPasid) from two PASID devices of iommu group g. */
const accessedFromTwo = (s: SpecState, g: number, group: readonly Command[]): boolean => {
  let accessor = -1;
  for (const c of group) {
    if ((c.kind !== 'dma' && c.kind !== 'dmaPasid') || s.t.devGroup[c.dev] !== g || s.t.devMax[c.dev] === 0) continue;
    if (accessor >= 0 && accessor !== c.dev) return true;
    accessor = c.dev;
  }
  return false;
};

/**
 * The set-up points of each attempt of a bind that has them: one per device the attach sets up
 * (attaching.ts svaAccepted), since __iommu_set_group_pasid sets them up one after the other.
 */
const setUpPoints = (s: SpecState, group: number): number => Math.max(svaAccepted(s.t, group).length, 1);

/**
 * Whether a bind in `group` takes its mm's first PASID at a point of its own (bind.ts
 * bindPasid): iommu_alloc_mm_data runs under iommu_sva_lock, which neither __mmdrop's
 * mm_pasid_drop nor the SRCU callbacks that end in it take, so a grace period or an mmdrop
 * member may free another mm's PASID between the bind's allocation and the rest of it (vtd run
 * --groups 0.5 --seed 99, run 148: the bind took PASID 2 while mm0 still held 1, the grace
 * period then freed mm0 and ran before the failed bind put its notifier).
 */
const bindTakesPasidFirst = (s: SpecState, cmd: Command & { kind: 'bind' }, group: readonly Command[] | undefined): boolean =>
  group !== undefined && group.length > 1 && s.slots[cmd.mm]!.pasid.ctx.pasid === 0 &&
  group.some((c) => c.kind === 'gracePeriod' || c.kind === 'mmdrop');

/** A group run begins: which groups' binds have set-up points (bindSetsUp) or a PASID point (bindTakesPasidFirst), fixed for the run. */
export const bindPointsBegin = (s: SpecState, group: readonly Command[]): void => {
  let setUp = 0;
  let rollback = 0;
  const pasid: number[] = [];
  for (const c of group) {
    if (c.kind !== 'bind') continue;
    if (bindSetsUp(s, c, group)) setUp |= 1 << s.t.devGroup[c.dev]!;
    if (bindRollbackSplits(s, c, group)) rollback |= 1 << s.t.devGroup[c.dev]!;
    if (bindTakesPasidFirst(s, c, group)) pasid.push(c.dev * s.t.topology.mms + c.mm);
  }
  s.bindSetUp = setUp;
  s.bindRollbackSplit = rollback;
  s.bindPasid = pasid;
};

const NO_BONDS: readonly number[] = [];

/** The group run is over. */
export const bindPointsEnd = (s: SpecState): void => {
  s.bindSetUp = 0;
  s.bindRollbackSplit = 0;
  s.bindRollback = undefined;
  s.bindPasid = NO_BONDS;
};

/** The window after a bind's PASID point, where a grace period or an mmdrop may run (bindTakesPasidFirst): the point it precedes, or -1. */
export const bindPasidWindow = (s: SpecState, cmd: Command, group: readonly Command[]): number =>
  cmd.kind === 'bind' && bindTakesPasidFirst(s, cmd, group) ? 1 : -1;

/**
 * The windows of a bind in `group` where its attempt is set up on some of its devices: bit w,
 * the window before its point w (the layouts of bindPoint).
 */
export const bindSetUpWindows = (s: SpecState, cmd: Command, group: readonly Command[]): number => {
  if (cmd.kind !== 'bind' || !bindSetsUp(s, cmd, group)) return 0;
  const k = setUpPoints(s, s.t.devGroup[cmd.dev]!);
  const attempt = (1 << (k + 1)) - 2; // bits 1..k: after each set-up point, up to the attempt
  const windows = bindRetries(s, cmd, group.length) ? attempt | (attempt << (k + 1)) : attempt;
  return bindTakesPasidFirst(s, cmd, group) ? windows << 1 : windows;
};

/**
 * The window of a bind in `group` where it holds no &group->mutex, between its attempts on the
 * mm's domains and the new domain's: the point it precedes, or -1 (no such window).
 */
export const bindUnlockedWindow = (s: SpecState, cmd: Command, group: readonly Command[]): number =>
  cmd.kind !== 'bind' || !bindRetries(s, cmd, group.length) ? -1
    : (bindSetsUp(s, cmd, group) ? setUpPoints(s, s.t.devGroup[cmd.dev]!) + 1 : 1) + (bindTakesPasidFirst(s, cmd, group) ? 1 : 0);

/**
 * Whether dev's unbind of `slot` may, in a group of `size`, be its caller's last of a PRI device
 * or drop its handle's last user: each other member can take one count away first.
 */
const mayBeLastUnbind = (s: SpecState, dev: number, slot: number, size: number): boolean => {
  const users = s.slots[slot]!.handles[s.t.devGroup[dev]!]?.users;
  return (s.t.devPri[dev]! && s.bonds[dev * s.t.topology.mms + slot]!.ctx.n <= size) || (users !== undefined && users <= size);
};

/**
 * Whether an attach by dev may fail past its group's first PASID device: the platform has paging
 * domains at a PASID, an injection is armed and the group has two PASID devices (pagingPartway.ts).
 */
const mayFailPartway = (s: SpecState, dev: number): boolean =>
  hasPagingDomains(s.t.topology.platform) && (s.failArmed !== undefined || s.failNth > 0) &&
  s.t.groupDevs[s.t.devGroup[dev]!]!.filter((d) => s.t.devMax[d]! > 0).length > 1;

/** Members that may drain a VT-d PRQ (a PASID teardown of a PRI device) or send it requests. */
const DRAINS = new Set<Command['kind']>(['bind', 'unbind', 'attachPasid', 'replacePasid', 'detachPasid']);
const REQUESTS = new Set<Command['kind']>(['dma', 'dmaPasid', 'prg', 'stopMarker']);

const ALL_OTHER: ThreadPoints = { ...ALL_THREAD_POINTS, wakes: 0, releases: 0 };

/**
 * The fault-thread points of a serviceFaults in `group` (every command of it; undefined: any
 * group), IOMMU by IOMMU. A thread has points only on an IOMMU with requests queued or kept,
 * or behind a device a member names: any other finds nothing, and nothing reaches it while the
 * group runs, so its pass runs at once. Its first read and its loop's end are apart only behind
 * a member's device (nothing else can send it a request in between). VT-d's wake-up only where
 * a member drains (the drain can tell it from the first read), its first pass's PQH write only
 * where a member sends requests (one can tell it from the loop's end). Fewer points, fewer
 * orders for the oracle to try (vtd seed 1729: a {serviceFaults, unbind, dma} group on three
 * IOMMUs, 17 points, took 1.5 s).
 */
export const serviceThreadPoints = (s: SpecState, group?: readonly Command[]): ThreadPoints => {
  const vtd = s.t.topology.platform === 'vtd';
  if (group === undefined) return vtd ? ALL_THREAD_POINTS : ALL_OTHER;
  const devices = s.t.topology.devices;
  let queued = 0, split = 0, wakes = 0, releases = 0;
  for (const r of s.prq) queued |= 1 << devices[r.dev]!.iommu;
  for (const r of s.partial) queued |= 1 << devices[r.dev]!.iommu;
  for (const c of group) {
    if (!('dev' in c)) continue;
    const bit = 1 << devices[c.dev]!.iommu;
    split |= bit;
    if (vtd && DRAINS.has(c.kind)) wakes |= bit;
    if (vtd && REQUESTS.has(c.kind)) releases |= bit;
  }
  // Requests queued behind a member's device: the thread may answer one itself before or after
  // the member runs (vtd seed 901729: a prg finds no credit though the thread had decided to
  // answer Invalid; vtd seed 601740: one finds the credit the answer gave back).
  return { threads: queued | split, split, answers: queued & split, wakes, releases };
};

/**
 * Whether a VT-d unbind or replace in `group` has its PRQ drain's thread as points of its own
 * (bind.ts unbindDrainRead, paging.ts replaceDrainRead): another member may send page requests
 * to its IOMMU, which the thread's first pass can give credits back for and its re-run take
 * (pri.ts drainRead). Only for a device that is its group's one PASID device (one drain), and
 * with no serviceFaults in the group, whose thread points are the fault thread's own
 * (spec/pri.ts servicePoint).
 */
const drainSplits = (s: SpecState, cmd: Command & { kind: 'unbind' | 'replacePasid' }, group: readonly Command[]): boolean => {
  const { t } = s;
  if (t.topology.platform !== 'vtd' || !t.devPri[cmd.dev] || group.some((c) => c.kind === 'serviceFaults')) return false;
  if (t.groupDevs[t.devGroup[cmd.dev]!]!.some((d) => d !== cmd.dev && t.devMax[d]! > 0)) return false;
  const iommu = t.topology.devices[cmd.dev]!.iommu;
  return group.some((c) => c !== cmd && REQUESTS.has(c.kind) && 'dev' in c && t.topology.devices[c.dev]!.iommu === iommu);
};

/**
 * Whether a VT-d bind in `group` that no existing domain retries has its unwind's PRQ drain as
 * points of its own, after its attempt (bind.ts rollbackDrain): its group stops partway by
 * itself (one PRI device accepted, then one refused: attaching.ts mayStopPartway with no
 * injection armed), and another member may send page requests to that IOMMU, which the drain's
 * first pass and its re-run can meet as an unbind's do (drainSplits); not beside serviceFaults
 * (vtd --groups 0.5 --runs 3000 --seed 2026, run 2106: a prg beside such a bind found the PRQ
 * full between the thread's first pass and its PQH write).
 */
const bindRollbackSplits = (s: SpecState, cmd: Command & { kind: 'bind' }, group: readonly Command[] | undefined): boolean => {
  const { t } = s;
  if (group === undefined || group.length <= 1 || t.topology.platform !== 'vtd' || s.failArmed !== undefined || s.failNth > 0) return false;
  // No existing domain to retry, and no other bind that could make one meanwhile: the unwind is
  // the new domain's attempt's, at the one point stashRollback watches.
  if (bindRetries(s, cmd, group.length) || group.some((c) => c.kind === 'serviceFaults' || (c !== cmd && c.kind === 'bind' && c.mm === cmd.mm))) return false;
  const g = t.devGroup[cmd.dev]!;
  if (!mayStopPartway(s, g)) return false;
  // The devices the unwind tears down: those set up before the refused one; one drain.
  const drained = svaAccepted(t, g);
  if (drained.length !== 1 || !t.devPri[drained[0]!]) return false;
  const iommu = t.topology.devices[drained[0]!]!.iommu;
  return group.some((c) => c !== cmd && REQUESTS.has(c.kind) && 'dev' in c && t.topology.devices[c.dev]!.iommu === iommu);
};

/**
 * How many page requests `c` may send while the group runs: a prg its count, a PRI device's (or
 * stall master's) access its miss; on SMMUv3 one more per member, a stall that a resumed access
 * raises again (pri.ts restalls). Nothing else sends one.
 */
const requestsOf = (s: SpecState, c: Command): number => {
  const restall = s.t.topology.platform === 'smmuv3' ? 1 : 0;
  switch (c.kind) {
    case 'prg':
      return c.count + restall;
    case 'dma':
    case 'dmaPasid':
    case 'dmaIova':
      return (s.t.devPri[c.dev] ? 1 : 0) + restall;
    default:
      return restall;
  }
};

/** How many points the fault threads have in all (serviceThreadPoints). */
const threadPointCount = (s: SpecState, th: ThreadPoints): number => {
  let n = 0;
  for (let i = 0; i < s.t.topology.iommus.length; i++) {
    if (!inMask(th.threads, i)) continue;
    n += inMask(th.split, i) ? 2 + (inMask(th.answers, i) ? 1 : 0) + (inMask(th.wakes, i) ? 1 : 0) + (inMask(th.releases, i) ? 1 : 0) : 1;
  }
  return n;
};

/**
 * How many linearization points `cmd` has in a group of `size` commands (1 alone); `group`, the
 * group's commands, where a point count depends on the other members (serviceFaults).
 */
export const linPoints = (s: SpecState, cmd: Command, size = 1, group?: readonly Command[]): number => {
  const alloc = allocatesFirst(s, cmd, size) ? 1 : 0;
  switch (cmd.kind) {
    case 'bind':
      return (bindTakesPasidFirst(s, cmd, group) ? 1 : 0) + (bindRetries(s, cmd, size) ? 2 : 1) * (bindSetsUp(s, cmd, group) ? setUpPoints(s, s.t.devGroup[cmd.dev]!) + 1 : 1) +
        (bindRollbackSplits(s, cmd, group) ? 2 : 0);
    case 'replacePasid':
      // VT-d's teardown of the old entry drains as an unbind's does: its thread's first pass and
      // PQH write are points too where a member may send page requests (drainSplits).
      if (!replaceHasWindow(s.t.topology.platform)) return alloc + 1;
      return alloc + (size > 1 && group !== undefined && drainSplits(s, cmd, group) ? 4 : 2);
    case 'attachPasid':
      // With an injection armed: the allocation (a no-op once allocated), the failure met and
      // the rollback (pagingPartway.ts).
      return size > 1 && mayFailPartway(s, cmd.dev) ? 3 : alloc + 1;
    case 'unbind':
      // The device stops (bind.ts stopsDevice), the entries go (detaching.ts detaches), the rest;
      // checked again at each point, so a member that is the last only after the other members'
      // unbinds of the pair or the handle (vtd seed 201740: two unbinds of a bond made twice)
      // has the points too. Before the rest, where the drain's thread may meet a member's
      // request, its first pass and its PQH write (drainSplits: a group of one PASID device).
      // Where two members access from two devices of the group, one teardown point per PASID
      // device (detaching.ts).
      if (size <= 1 || !mayBeLastUnbind(s, cmd.dev, cmd.mm, size)) return 1;
      if (group !== undefined && drainSplits(s, cmd, group)) return 5;
      return group !== undefined && accessedFromTwo(s, s.t.devGroup[cmd.dev]!, group) ? 2 + pasidDevs(s.t, s.t.devGroup[cmd.dev]!).length : 3;
    case 'exit':
      // The release begun (releasing.ts), the rest: only where some device has the mm's PASID.
      return size > 1 && s.slots[cmd.mm]!.handles.some((h) => h !== undefined) ? 2 : 1;
    case 'migrate':
      return 2;
    case 'serviceFaults': {
      // The fault threads' points where the group can meet them, then a fault of a work item
      // per point (pri.ts servicePoint): one for each request queued or kept, and for each a
      // member may send.
      if (size <= 1) return 1;
      const th = serviceThreadPoints(s, group);
      let sent = 0;
      if (group === undefined) sent = size;
      else for (const c of group) sent += requestsOf(s, c);
      // At least one point: the final one finishes whatever the pass finds.
      return Math.max(1, threadPointCount(s, th) + sent + queuedFaults(s));
    }
    default:
      return alloc + 1;
  }
};

/**
 * Point `point` of `cmd` (the caller checked the precondition before point 0; `points`: how
 * many it was given when the group began, linPoints on the state before it): the command's
 * observation, or undefined when it goes on at its next point. In a group with an injection
 * armed, the harness carries the injection across the failing member's points (group.ts
 * specInPoints) in place of specStep's bookkeeping; one point, or all back to back, is exactly
 * specStep (an allocation done at point 0 is not repeated: hwptAlloc keeps an allocated HWPT). A serviceFaults point gives that
 * point's observation: the caller adds the points up (servicePasses).
 */
export const specPoint = (s: SpecState, cmd: Command, point: number, points = 1): Observation | undefined => {
  if (allocatedFirst(s, cmd, points)) {
    if (point === 0) return hwptAllocPoint(s, cmd.dev, cmd.hwpt);
    point--;
  }
  if (cmd.kind === 'serviceFaults' && points > 1) return servicePoint(s, point, point === points - 1);
  if (cmd.kind === 'migrate') return point === 0 ? migrateUnmap(s, cmd.mm, cmd.page) : migrateRemap(s, cmd.mm, cmd.page);
  if (cmd.kind === 'attachPasid' && points === 3) {
    if (point === 0) {
      s.retired.length = 0;
      return attachPasidTry(s, cmd.dev, cmd.hwpt, cmd.pasid);
    }
    return attachPasidUnwound(s, cmd.dev);
  }
  if (cmd.kind === 'exit' && points > 1) {
    if (point === 0) {
      releaseBegin(s, cmd.mm);
      return undefined;
    }
    releaseEnd(s, cmd.mm);
    return specStep(s, cmd);
  }
  if (cmd.kind === 'bind' && points > 1) return bindPoint(s, cmd, point, points);
  if (cmd.kind === 'unbind' && points > 1) {
    // [the device stops, the entries are torn down, (the drain's first pass, its PQH write,) the
    // rest]: any but the last may be a no-op.
    // With two PASID devices or more, the points between the stop and the rest are each one
    // device's teardown (drainSplits needs a group of one).
    const g = s.t.devGroup[cmd.dev]!;
    const teardowns = pasidDevs(s.t, g).length >= 2 ? points - 2 : 1;
    if (point === 0) unbindStopping(s, cmd.dev, cmd.mm);
    else if (point <= teardowns) unbindTeardown(s, cmd.dev, cmd.mm, teardowns === 1 ? Infinity : point);
    else if (point < points - 1) {
      s.retired.length = 0;
      if (point === 2) unbindDrainRead(s, cmd.dev, cmd.mm);
      else unbindDrainRelease(s, cmd.dev, cmd.mm);
    } else {
      s.retired.length = 0;
      unbindHandle(s, cmd.dev, cmd.mm);
      endDetaching(s, g, cmd.mm);
      endStopping(s, cmd.dev, cmd.mm);
      return OK_OBS;
    }
    return undefined;
  }
  if (cmd.kind !== 'replacePasid' || !replaceHasWindow(s.t.topology.platform)) return specStep(s, cmd);
  const own = allocatedFirst(s, cmd, points) ? points - 1 : points;
  if (own === 4) {
    // [the old entry torn down (its drain left to the next points), the drain's first pass, its
    // PQH write, the drain's end and the new entry set up].
    if (point === 0) return replaceTeardown(s, cmd.dev, cmd.hwpt, cmd.from, true);
    if (point === 1) replaceDrainRead(s, cmd.dev);
    else if (point === 2) replaceDrainRelease(s, cmd.dev);
    if (point < 3) return undefined;
    replaceDrainEnd(s, cmd.dev);
    return replaceSetup(s, cmd.dev, cmd.hwpt);
  }
  return point === 0 ? replaceTeardown(s, cmd.dev, cmd.hwpt, cmd.from) : replaceSetup(s, cmd.dev, cmd.hwpt);
};

/**
 * Point `point` of a bind given `points` (> 1): the attempts on the mm's domains, then the new
 * domain's, as two points when it retries; each preceded by its k set-up points (setUpPoints:
 * device j set up at the j-th) when the run gives the bind's group them (bindPointsBegin,
 * bindSetUp). So without them 2 points are [existing, new]; with them k + 1 are [existing
 * then the new one's first set-up, its other set-ups, new], and 2(k + 1) are [set-ups,
 * existing, set-ups, new].
 */
const bindPoint = (s: SpecState, cmd: Command & { kind: 'bind' }, point: number, points: number): Observation | undefined => {
  const group = s.t.devGroup[cmd.dev]!;
  if (s.bindPasid.length > 0 && s.bindPasid.includes(cmd.dev * s.t.topology.mms + cmd.mm)) {
    // [PASID, then the layout below].
    if (point === 0) return bindPasid(s, cmd.dev, cmd.mm);
    point--;
    points--;
    if (points === 1) {
      s.retired.length = 0; // a failed attach's unwind may drain page requests
      return bind(s, cmd.dev, cmd.mm);
    }
  }
  if (inMask(s.bindRollbackSplit, group)) {
    // [the layout below, then the unwind's drain: its PQH write, its end and the bind's result].
    const r = s.bindRollback;
    if (point === points - 2) {
      if (r !== undefined) drainRelease(s, r.dev);
      return undefined;
    }
    if (point === points - 1) {
      if (r === undefined) return undefined;
      s.retired.length = 0;
      drainEnd(s, r.dev, r.slot, []);
      s.bindRollback = undefined;
      return r.obs;
    }
    points -= 2;
    if (points === 1) {
      s.retired.length = 0; // a failed attach's unwind may drain page requests
      return stashRollback(s, bind(s, cmd.dev, cmd.mm));
    }
  }
  const k = inMask(s.bindSetUp, group) ? setUpPoints(s, group) : 0;
  let phase = point;
  if (k > 0 && points === 2 * (k + 1)) {
    const sub = point % (k + 1);
    phase = (point - sub) / (k + 1);
    if (sub < k) return bindSetUp(s, cmd.dev, cmd.mm, phase === 0, sub + 1);
  } else if (k > 0 && point > 0 && point < k) return bindSetUp(s, cmd.dev, cmd.mm, false, point + 1);
  else if (k > 0 && point === k) phase = 1;
  endAttaching(s, group);
  if (phase === 1) return stashRollback(s, bindNew(s, cmd.dev, cmd.mm));
  s.retired.length = 0; // a failed attempt's unwind may drain page requests
  // A split unwind (bindRollbackSplits) has no existing domain to try: this attempt never unwinds.
  return bindExisting(s, cmd.dev, cmd.mm) ?? (k > 0 && points === k + 1 ? bindSetUp(s, cmd.dev, cmd.mm, false, 1) : undefined);
};

/** An attempt's observation, kept for the bind's last point while its unwind's drain is split (rollbackDrain). */
const stashRollback = (s: SpecState, obs: Observation | undefined): Observation | undefined => {
  const r = s.bindRollback;
  if (r === undefined || r.obs !== undefined || obs === undefined) return obs;
  s.bindRollback = { ...r, obs };
  return undefined;
};

/** serviceFaults' observation over its points so far: the Success answers of each, added. */
export const servicePasses = (sofar: Observation | undefined, pass: Observation): Observation =>
  sofar === undefined || !sofar.ok || !pass.ok ? pass : { ok: true, value: (sofar.value ?? 0) + (pass.value ?? 0) };
