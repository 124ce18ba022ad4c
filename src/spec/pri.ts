/**
 * I/O page faults as the spec sees them. A PRI device's access that misses in a bound, live mm
 * is not an error: a page request is sent (the DMA's observation is `{ok: true}` with no value:
 * "request sent, pending"), as long as the device has a free PRI credit; `prg` sends a whole
 * Page Request Group (several requests, one PRG index, LAST on the final one), through a PASID
 * or, with no PASID, on the device's RID.
 *
 * The protocol, as PCIe, VT-d and io-pgfault.c define it:
 * - Each request enters its IOMMU's hardware queue. A full VT-d PRQ sets PRO and drops the
 *   request; a dropped LAST is answered Success by the hardware, so the device retries (and,
 *   nothing having been faulted in, the retry fails). A full AMD PPR log discards it and stops
 *   logging until the thread restarts it; nothing answers a discarded request.
 * - When the IOMMU's fault thread runs (serviceFaults, or a teardown's drain), each queued
 *   request is reported in order: one with no fault handler at its PASID (or on the RID, which
 *   SVA never gives one) ends its group with Invalid if it is the LAST and is otherwise dropped;
 *   a non-last one is kept until its group's LAST; the LAST takes every kept request of the
 *   device with its PRG index and PASID and the group is handled in order as iommu_sva_handle_iopf does
 *   (errors sticky) against the mm of the LAST's handler, then answered once; a group whose
 *   allocation fails (the abort group) is answered Response Failure at once, which on VT-d and
 *   AMD turns the endpoint's PRI off for good (its misses fault, its prgs are refused). After the thread,
 *   an overflow is cleared, and (VT-d) the kept requests discarded, once the queue is empty.
 * - A group's answer retires every request of it the device waits on; after Success the device
 *   retries each, reading the page's token if it now translates. A group whose LAST was not sent
 *   stays open; the device abandons it when it stops using the PASID (its last unbind of the
 *   mm), and the PASID's detach frees the kernel's kept requests of it.
 * Sources: drivers/iommu/io-pgfault.c: iommu_report_device_fault, iopf_queue_discard_partial;
 * drivers/iommu/iommu-sva.c: iommu_sva_handle_iopf, iommu_sva_handle_mm; drivers/iommu/intel/prq.c:
 * prq_event_thread, intel_iommu_drain_pasid_prq (v7.0-rc5); VT-d 3.x §7.5 (page request queue
 * overflow); PCIe r6.0 §10.4.
 */
import type { Command, Observation, PageResponseCode } from '../shared/index.js';
import { PRI_CREDITS, PRG_INDEX_LIMIT, prqEntries } from '../shared/index.js';
import { touch } from './addressSpace.js';
import { stoppedAt, tornDown } from './detaching.js';
import { translatesVia } from './dma.js';
import { consumeFail } from './lifetime.js';
import { dmaFault } from './observe.js';
import { MM, NO_RESTALL, PTE_ABSENT, PTE_PROTNONE, PTE_RO, PTE_RW, type SpecAnswer, type SpecGroup, type SpecRequest, type SpecServicing, type SpecState, inMask } from './state.js';

/** The observation of an access that became a page request: done, no value yet. */
export const PRI_QUEUED: Observation = Object.freeze({ ok: true });

/** A `prg` from an endpoint whose PRI a Response Failure turned off: nothing is sent. */
const PRI_REFUSED: Observation = Object.freeze({ ok: false, errno: 'EFAULT', fault: 'page requests refused' });

/** The lowest PRG index none of the device's waiting requests uses (as the endpoint allocates). */
const allocPrgi = (s: SpecState, dev: number): number => {
  for (let i = 0; i < PRG_INDEX_LIMIT; i++) if (!s.waiting.some((w) => w.dev === dev && w.prgi === i)) return i;
  return -1;
};

/** Whether the device's retry of `r` translates now. */
const translates = (s: SpecState, r: SpecRequest): boolean => {
  if (r.slot < 0) return false;
  const sl = s.slots[r.slot]!;
  const pte = sl.pte[r.page]!;
  return sl.mm.state === MM.live && pte !== PTE_ABSENT && pte !== PTE_PROTNONE && (!r.write || pte === PTE_RW);
};

/**
 * Whether the retry of `w`, resumed after a Success that the spec says translates, stalls again
 * (SMMUv3: CMD_RESUME retries the transaction as if just received). Only a write to a page whose
 * PTE a member of the group upgraded from read-only can: the SMMU's TLB may still hold the
 * read-only leaf until the upgrade's TLBI completes, while another stall's handler finds the PTE
 * writable and answers Success (smmuv3 seed 101729: two stalls of one page). A choice of the
 * linearization, the k-th such retry taking bit k of the mask.
 */
const restalls = (s: SpecState, w: SpecRequest): boolean => {
  const r = s.restall;
  if (r.before === undefined || !w.write || r.before[w.slot]![w.page] !== PTE_RO || s.slots[w.slot]!.pte[w.page] !== PTE_RW) return false;
  return ((r.mask >> r.seen++) & 1) === 1;
};

/**
 * Whether a concurrent group of `cmds` may have a retry that restalls: on SMMUv3, with a
 * serviceFaults and a read-only page of a live mm.
 */
export const restallPossible = (s: SpecState, cmds: readonly Command[]): boolean =>
  s.t.topology.platform === 'smmuv3' && cmds.some((c) => c.kind === 'serviceFaults') &&
  s.slots.some((sl) => sl.mm.state === MM.live && sl.pte.includes(PTE_RO));

/** The oracle's run of a group begins with `mask` (restalls), on the state before the group. */
export const beginRestall = (s: SpecState, mask: number): void => {
  s.restall = mask === 0 ? NO_RESTALL : { before: s.slots.map((sl) => sl.pte.slice()), mask, seen: 0 };
};

/**
 * A PRG response reaches the device: every request it waits on with this PASID (slot) and PRG
 * index is retired; after Success each is retried (`attached`: the retry can still translate).
 */
const respond = (s: SpecState, dev: number, slot: number, prgi: number, code: PageResponseCode, attached: boolean): void => {
  let kept = 0;
  let again: SpecRequest[] | undefined;
  for (const w of s.waiting) {
    if (w.dev !== dev || w.slot !== slot || w.prgi !== prgi) {
      s.waiting[kept++] = w;
      continue;
    }
    // A surprise-removed device never sees its response: its accesses are lost. A stale
    // request's answer only returns its credit (spec/stopMarker.ts).
    const ok = code === 'success' && attached && s.unplugged[dev] === 0 && w.stale !== true && translates(s, w);
    if (ok && s.restall.mask !== 0 && restalls(s, w)) {
      (again ??= []).push(w);
      continue;
    }
    s.outstanding[dev]! -= 1;
    s.retired.push({ dev, slot: w.slot, page: w.page, write: w.write, ok, token: ok ? s.slots[w.slot]!.token[w.page]! : -1 });
  }
  s.waiting.length = kept;
  // The resumed transaction faulted and stalled again: a new stall, its credit still held.
  for (const w of again ?? []) {
    const r: SpecRequest = { ...w, prgi: allocPrgi(s, dev) };
    s.waiting.push(r);
    send(s, r);
  }
  // A Response Failure disables the endpoint's PRI (SMMUv3's CMD_RESUME has no such code: an abort).
  if (code === 'failure' && s.t.topology.platform !== 'smmuv3') s.priFailed[dev] = 1;
};

/**
 * The request enters its IOMMU's queue, or overflows it: on VT-d dropped, a LAST answered
 * Success by the unit; on AMD discarded unanswered, and so is every request until the PPR
 * thread restarts the log (the device waits for it for good). An SMMUv3 stall is never lost.
 * A Stop Marker (VT-d) that finds the queue full is dropped silently (spec/stopMarker.ts).
 */
export const send = (s: SpecState, r: SpecRequest): void => {
  const topo = s.t.topology;
  const iommu = topo.devices[r.dev]!.iommu;
  if (topo.platform !== 'smmuv3') {
    let queued = s.servicing.held === iommu ? s.servicing.heldCount : 0;
    for (const q of s.prq) if (topo.devices[q.dev]!.iommu === iommu) queued++;
    if (queued >= prqEntries(topo.iommus[iommu]!) || (topo.platform === 'amd' && s.prqOverflow[iommu] === 1)) {
      if (r.stop === true) return;
      s.prqOverflow[iommu] = 1;
      // The unit's Success needs no handler: the retry walks the device's entry as it stands, so
      // it translates where an access by the device would (dma.ts translatesVia): its group has
      // the handle (a device not bound to the mm may send there: spec/precondition.ts prg) not
      // yet torn down by an unbind it came inside (vtd random-topology seed 4243: the drain then
      // takes the rest), or a concurrent bind's attempt has set the entry up (vtd run --seed 42,
      // run 220: a prg beside a bind failing at the group's second device read the page through
      // the first device's entry).
      if (r.last && topo.platform === 'vtd') respond(s, r.dev, r.slot, r.prgi, 'success', r.slot < 0 || translatesVia(s, r.dev, s.t.devGroup[r.dev]!, r.slot));
      else if (topo.platform === 'amd') markLost(s, r);
      return;
    }
  }
  s.prq.push(r);
};

/** The device's waiting copy of `r`, which the AMD PPR log discarded: lost. */
const markLost = (s: SpecState, r: SpecRequest): void => {
  const i = s.waiting.indexOf(r);
  if (i >= 0) s.waiting[i] = { ...r, lost: true };
};

/** The PRG index of the device's open group on `slot` (requests sent, LAST not yet), or -1. */
export const openPrgi = (s: SpecState, dev: number, slot: number): number => {
  for (const w of s.waiting) {
    if (w.dev === dev && w.slot === slot && !s.waiting.some((o) => o.dev === dev && o.slot === slot && o.prgi === w.prgi && o.last)) return w.prgi;
  }
  return -1;
};

/** The PASID number a request tagged for `slot`'s mm carries now (-1: the RID). */
export const requestPasid = (s: SpecState, slot: number): number => (slot < 0 ? -1 : s.slots[slot]!.pasid.ctx.pasid);

/**
 * Send `count` requests for pages page.. of `slot` (-1: on the RID) in the device's open group
 * there or a new one, LAST on the final one when `last`; or fail without the credits.
 */
const sendGroup = (s: SpecState, dev: number, slot: number, page: number, count: number, write: boolean, last = true): Observation => {
  if (s.priFailed[dev] === 1) return PRI_REFUSED;
  if (s.outstanding[dev]! + count > PRI_CREDITS) return dmaFault('no PRI credit');
  const open = openPrgi(s, dev, slot);
  const prgi = open >= 0 ? open : allocPrgi(s, dev);
  const pasid = requestPasid(s, slot);
  for (let i = 0; i < count; i++) {
    const r: SpecRequest = { dev, slot, pasid, page: page + i, write, prgi, last: last && i === count - 1 };
    s.outstanding[dev]! += 1;
    s.waiting.push(r);
    send(s, r);
  }
  return PRI_QUEUED;
};

/** A PRI device's access that missed: one request in a group of its own. */
export const pageRequest = (s: SpecState, dev: number, slot: number, page: number, write: boolean): Observation => sendGroup(s, dev, slot, page, 1, write);

/** prg: the device sends one Page Request Group. */
export const prg = (s: SpecState, dev: number, slot: number, page: number, count: number, write: boolean, rid: boolean, last: boolean): Observation => {
  s.retired.length = 0;
  if (!rid && stoppedAt(s, dev, slot)) return dmaFault('device stopped');
  return sendGroup(s, dev, rid ? -1 : slot, page, count, write, last);
};

/** The device stops using `slot`'s PASID (its last unbind of the mm): its open groups there are abandoned. */
export const abandonOpen = (s: SpecState, dev: number, slot: number): void => {
  let kept = 0;
  for (const w of s.waiting) {
    const open = w.dev === dev && w.slot === slot && !s.waiting.some((o) => o.dev === dev && o.slot === slot && o.prgi === w.prgi && o.last);
    if (open) s.outstanding[dev]! -= 1;
    else s.waiting[kept++] = w;
  }
  s.waiting.length = kept;
};

/**
 * The PASID's detach from the device (its PRQ drain): the kernel frees the device's kept
 * partial requests of that PASID, whose LAST will never come (the proposed fix of finding
 * iopf-stale-partial; mainline keeps them).
 */
export const dropPasidPartials = (s: SpecState, dev: number, slot: number): void => {
  let p = 0;
  for (const q of s.partial) if (q.dev !== dev || q.slot !== slot) s.partial[p++] = q;
  s.partial.length = p;
};

/** iommu_sva_handle_mm on one fault, against the handler's mm (`slot`). */
const handleFault = (s: SpecState, slot: number, r: SpecRequest): boolean => {
  const sl = s.slots[slot]!;
  return sl.mm.state === MM.live && touch(sl, slot, r.page, r.write).ok;
};

/**
 * The slot whose attach handle the kernel finds for the request, or -1 (none: the RID, or no
 * mm's SVA handle at that PASID of the device's group). iommu_report_device_fault looks the
 * PASID number up in the group's pasid_array when the fault thread reports the request: a
 * request that waited in the queue while its mm was freed and the number went to another mm
 * bound there is that mm's fault (which the device could as well have sent it afresh).
 */
const handlerOf = (s: SpecState, r: SpecRequest): number => {
  if (r.slot < 0) return -1;
  const g = s.t.devGroup[r.dev]!;
  // A freed mm keeps no handle, so at most one slot with the number has one.
  for (let slot = 0; slot < s.slots.length; slot++) {
    const sl = s.slots[slot]!;
    if (sl.pasid.ctx.pasid === r.pasid && sl.handles[g] !== undefined) return slot;
  }
  return -1;
};

/**
 * The IOMMU's fault thread: report every queued request of `iommu` in order (prq_event_thread,
 * iommu_report_device_fault), then release the queue (faultRelease). Returns the groups handed
 * to the workqueue.
 */
const faultThread = (s: SpecState, iommu: number): SpecGroup[] => {
  const groups = faultReport(s, iommu);
  faultRelease(s, iommu);
  return groups;
};

/**
 * The fault thread's loop over the requests of `iommu` it found queued: the groups for the
 * workqueue. The answers it makes itself (no handler, the abort group) go out now, or, with
 * `later`, are kept there for a later point of the same loop (servicePoint).
 */
const faultReport = (s: SpecState, iommu: number, later?: SpecAnswer[]): SpecGroup[] => {
  const devices = s.t.topology.devices;
  const groups: SpecGroup[] = [];
  let kept = 0;
  const queued = s.prq;
  const mine: SpecRequest[] = [];
  for (const r of queued) {
    if (devices[r.dev]!.iommu === iommu) mine.push(r);
    else queued[kept++] = r;
  }
  queued.length = kept;
  for (const r of mine) {
    // prq_event_thread drops a Stop Marker before the device lookup, unanswered.
    if (r.stop === true) continue;
    const handler = handlerOf(s, r);
    if (handler < 0) {
      if (r.last) answerInLoop(s, { r, code: 'invalid' }, later);
      continue;
    }
    if (!r.last) {
      s.partial.push(r);
      continue;
    }
    const faults: SpecRequest[] = [];
    let p = 0;
    for (const q of s.partial) {
      // Matched by PRG index and PASID (the proposed fix of finding iopf-stale-partial; mainline
      // matches the index alone).
      if (q.dev === r.dev && q.prgi === r.prgi && q.slot === r.slot) faults.push(q);
      else s.partial[p++] = q;
    }
    s.partial.length = p;
    // iopf_group_alloc's kzalloc failed: the abort group takes the same requests and is
    // answered Response Failure at once, before any queued work runs.
    if (consumeFail(s, 'kzalloc@iopf_group_alloc')) {
      answerInLoop(s, { r, code: 'failure' }, later);
      continue;
    }
    faults.push(r);
    groups.push({ faults, last: r, handler });
  }
  return groups;
};

const answerInLoop = (s: SpecState, a: SpecAnswer, later: SpecAnswer[] | undefined): void => {
  if (later !== undefined) later.push(a);
  else respond(s, a.r.dev, a.r.slot, a.r.prgi, a.code, true);
};

/** The thread's answers kept since its read go out. */
const sendAnswers = (s: SpecState): void => {
  const kept = s.servicing.unanswered;
  for (const a of kept) respond(s, a.r.dev, a.r.slot, a.r.prgi, a.code, true);
  kept.length = 0;
};

/** Requests queued at `iommu`. */
const queuedOn = (s: SpecState, iommu: number): number => {
  const devices = s.t.topology.devices;
  let n = 0;
  for (const r of s.prq) if (devices[r.dev]!.iommu === iommu) n++;
  return n;
};

/**
 * The end of the fault thread's loop: the queue's slots are free (VT-d: PQH written), and an
 * overflow is cleared if nothing came in meanwhile (VT-d: head == tail), discarding the kept
 * partial requests of its devices (AMD's restart, amd_iommu_restart_log, keeps them).
 */
const faultRelease = (s: SpecState, iommu: number): void => {
  if (s.prqOverflow[iommu] === 0 || queuedOn(s, iommu) > 0) return;
  s.prqOverflow[iommu] = 0;
  const devices = s.t.topology.devices;
  if (s.t.topology.platform === 'amd') return;
  let p = 0;
  for (const q of s.partial) if (devices[q.dev]!.iommu !== iommu) s.partial[p++] = q;
  s.partial.length = p;
};

/**
 * A fault thread's read of `iommu`'s queue in a run with points (servicePoint, drainRead): the
 * groups go to the pending work, the answers it makes itself out now or, with `later`, kept;
 * on VT-d the slots it read stay taken until its PQH write (threadRelease).
 */
const threadRead = (s: SpecState, iommu: number, later: SpecAnswer[] | undefined, holds: boolean): void => {
  const sv = s.servicing;
  const taken = queuedOn(s, iommu);
  for (const g of faultReport(s, iommu, later)) sv.pending.push(g);
  if (holds) {
    sv.held = iommu;
    sv.heldCount = taken;
  }
};

/** The thread writes PQH (VT-d) and handles an overflow: the slots it read are free (faultRelease). */
const threadRelease = (s: SpecState, iommu: number): void => {
  s.servicing.held = -1;
  s.servicing.heldCount = 0;
  faultRelease(s, iommu);
};

/** The end of the thread's loop: what came in since its read is taken (IRQTF_RUNTHREAD, the status re-read), then the queue released. */
const threadLoopEnd = (s: SpecState, iommu: number): void => {
  for (const g of faultReport(s, iommu)) s.servicing.pending.push(g);
  threadRelease(s, iommu);
};

/** A drain's `attached`: the retry of a request of a device in `detached` (torn down already) for `slot`'s PASID fails. */
const retryAttached = (slot: number, detached: readonly number[]) => (r: SpecRequest): boolean => r.slot !== slot || !detached.includes(r.dev);

/** The workqueue runs the groups in order; `attached(r)`: the LAST's device can still translate its retry. Value: requests answered Success. */
const runGroups = (s: SpecState, groups: readonly SpecGroup[], attached: (r: SpecRequest) => boolean): number => {
  let success = 0;
  for (const g of groups) {
    let ok = true;
    for (const f of g.faults) {
      if (!handleFault(s, g.handler, f)) {
        ok = false;
        break;
      }
    }
    success += answer(s, g, ok, attached);
  }
  return success;
};

/** iopf_group_response after the group's loop: Success when every fault was handled. Value: requests answered Success. */
const answer = (s: SpecState, g: SpecGroup, ok: boolean, attached: (r: SpecRequest) => boolean): number => {
  respond(s, g.last.dev, g.last.slot, g.last.prgi, ok ? 'success' : 'invalid', attached(g.last));
  return ok ? g.faults.length : 0;
};

/** The next work item a kworker starts: the oldest pending, or the one the linearization's pick names. */
const takeItem = (sv: SpecServicing): SpecGroup => {
  if (sv.pick === 0) return sv.pending.shift()!;
  const k = Math.min(Math.floor(sv.pick / 3 ** sv.taken++) % 3, sv.pending.length - 1);
  return sv.pending.splice(k, 1)[0]!;
};

/**
 * Whether a serviceFaults in group `cmds` may run two or more work items, whose order then is
 * the linearization's to choose (SpecServicing.pick): a LAST already queued or kept is one item,
 * and each device-side member may send one more.
 */
export const workItemsPossible = (s: SpecState, cmds: readonly Command[]): number => {
  if (!cmds.some((c) => c.kind === 'serviceFaults')) return 0;
  let n = s.servicing.pending.length;
  for (const r of s.prq) if (r.last && r.stop !== true) n++;
  for (const c of cmds) if (c.kind === 'dma' || c.kind === 'dmaPasid' || c.kind === 'prg') n++;
  return n;
};

/**
 * One fault of the work item under way (the next pending group's first, when none is): the
 * errors are sticky, so a fault not handled ends the item, answered Invalid; its last fault
 * handled, Success. Value: requests answered Success.
 */
const workFault = (s: SpecState, attached: (r: SpecRequest) => boolean): number => {
  const sv = s.servicing;
  const g = sv.item ?? takeItem(sv);
  const ok = handleFault(s, g.handler, g.faults[sv.itemAt]!);
  if (ok && sv.itemAt + 1 < g.faults.length) {
    sv.item = g;
    sv.itemAt++;
    return 0;
  }
  sv.item = undefined;
  sv.itemAt = 0;
  return answer(s, g, ok, attached);
};

const ALWAYS = (): boolean => true;

/** Whether the retry of a group's LAST can translate: a handle whose entries a concurrent unbind tore down still handles its faults, but the retries fail. */
const attachedNow = (s: SpecState): ((r: SpecRequest) => boolean) =>
  s.detaching.length === 0 ? ALWAYS : (r: SpecRequest): boolean => !tornDown(s, r.dev, r.slot);

/** serviceFaults: each IOMMU's fault thread, then its workqueue. Value: requests answered Success. */
export const serviceFaults = (s: SpecState): Observation => {
  s.retired.length = 0;
  let success = 0;
  const n = s.t.topology.iommus.length;
  const attached = attachedNow(s);
  for (let iommu = 0; iommu < n; iommu++) success += runGroups(s, faultThread(s, iommu), attached);
  return { ok: true, value: success };
};

/**
 * How many faults the work items the fault threads could hand the workqueue hold, from what is
 * queued now: every request but Stop Markers, and the partial requests kept for a LAST to come.
 */
export const queuedFaults = (s: SpecState): number => {
  let n = s.partial.length;
  for (const r of s.prq) if (r.stop !== true) n++;
  return n;
};

/**
 * One point of a serviceFaults in a concurrent group. Each IOMMU's fault thread runs once
 * (core/iopf.ts iopf_run_all), then its workqueue is flushed, IOMMU after IOMMU. Which points a
 * thread's run has is the group's (points.ts serviceThreadPoints; none where the group cannot
 * meet it): VT-d's wake-up, its first read of the queue, the answers it makes itself, VT-d's
 * first pass's PQH write (which frees the slots before the loop ends: a request sent between the
 * two is queued, not dropped, and taken at the end; vtd seed 601740), and the end of its loop,
 * which takes what came in
 * meanwhile (VT-d: IRQTF_RUNTHREAD; AMD: the status re-read; SMMUv3: until the queue is empty);
 * a request sent after that waits for the next serviceFaults (vtd run --groups seed 801741,
 * amd seed 901735). VT-d's thread frees the queue's slots only at the end of its loop
 * (prq_event_thread writes PQH = tail once): in between, the requests it took still fill the
 * PRQ, so one sent meanwhile may overflow it, and the overflow then stays set (head != tail) or
 * is cleared. Then each point runs one fault of an IOPF work item: the workqueue is unbound (a
 * kworker per item), so another task may run between two items, or between the thread's end and
 * the first (AMD seed 1756: a DMA that misses before the fault is taken); and an item takes the
 * mmap lock per fault, so a munmap may come between two faults of one group (amd seed 801729).
 * Items may also run while the thread still loops: `servicing.early` of them come before its
 * loop's end (the linearization tries 0 to 2: a request sent with the credits an early answer
 * gave back is taken by the same run). The `final` point finishes the pass, so nothing the
 * command took is left half done; the points back to back are serviceFaults. Value: requests
 * answered Success at this point.
 */
export const servicePoint = (s: SpecState, point: number, final: boolean): Observation => {
  s.retired.length = 0;
  const sv = s.servicing;
  const n = s.t.topology.iommus.length;
  const vtd = s.t.topology.platform === 'vtd';
  // Which points each IOMMU's thread has (points.ts serviceThreadPoints).
  const th = sv.points;
  const firstOf = (iommu: number): 'wake' | 'read' => (vtd && inMask(th.wakes, iommu) ? 'wake' : 'read');
  const afterAnswers = (iommu: number): 'release' | 'loop' => (vtd && inMask(th.releases, iommu) ? 'release' : 'loop');
  if (point === 0) {
    sv.iommu = 0;
    sv.phase = firstOf(0);
  }
  let success = 0;
  while (sv.iommu < n) {
    const iommu = sv.iommu;
    if (sv.phase === firstOf(iommu) && !inMask(th.threads, iommu)) {
      // A thread the group cannot meet: its whole pass now.
      success += runGroups(s, faultThread(s, iommu), attachedNow(s));
      sv.iommu++;
      sv.phase = firstOf(sv.iommu);
      continue;
    }
    if (sv.phase === 'wake') {
      // VT-d: irq_wake_thread has started the PRQ thread, which has not read the queue yet; a
      // PASID drain meanwhile waits for it only if a request of its own is queued (drainIommu).
      sv.phase = 'read';
    } else if (sv.phase === 'read') {
      // Behind a member's device, the answers the thread makes itself may reach the device after
      // the member ran (vtd seed 901729: a prg finds no credit though the thread had decided).
      threadRead(s, iommu, inMask(th.answers, iommu) ? sv.unanswered : undefined, vtd);
      sv.phase = 'early';
      sv.earlyLeft = sv.early;
      if (!inMask(th.split, iommu)) {
        // No member can send this IOMMU a request: the loop's end is the read's point.
        sv.phase = 'loop';
        continue;
      }
    } else if (sv.phase === 'early') {
      if (sv.earlyLeft === 0 || sv.pending.length === 0) {
        sv.phase = inMask(th.answers, iommu) ? 'answer' : afterAnswers(iommu);
        continue;
      }
      sv.earlyLeft--;
      success += runGroups(s, [takeItem(sv)], attachedNow(s));
    } else if (sv.phase === 'answer') {
      // The answers the read decided reach their devices, their credits back.
      sendAnswers(s);
      sv.phase = afterAnswers(iommu);
    } else if (sv.phase === 'release') {
      // VT-d: the first pass writes PQH = tail and handles PRO (cleared when nothing came in):
      // a request sent after this finds the slots free, and the thread, woken again
      // (IRQTF_RUNTHREAD), takes it at the end of its loop.
      threadRelease(s, iommu);
      sv.phase = 'loop';
    } else if (sv.phase === 'loop') {
      threadLoopEnd(s, iommu);
      sv.phase = 'work';
    } else if (sv.item !== undefined || sv.pending.length > 0) {
      success += workFault(s, attachedNow(s));
    } else {
      sv.iommu++;
      sv.phase = firstOf(sv.iommu);
      continue;
    }
    if (!final) break;
  }
  return { ok: true, value: success };
};

/**
 * The PRQ drain of dev's teardown of `slot`'s PASID (-1: a PASID no page request is for, an
 * iommufd one): the fault thread of dev's IOMMU runs, then its workqueue; the retry of a request
 * of a device in `detached` (torn down already) for `slot`'s PASID fails. Not while a concurrent
 * serviceFaults has woken the thread and it has not read yet, and no request of dev at that
 * PASID is queued: intel_iommu_drain_pasid_prq then waits for nothing (its scan skips other
 * devices' requests, other PASIDs' and RID ones), and the woken thread takes the queue later
 * (vtd seed 801749: a failed bind's unwind beside serviceFaults and a prg).
 */
export const drainIommu = (s: SpecState, dev: number, slot: number, detached: readonly number[] = []): void => {
  const iommu = s.t.topology.devices[dev]!.iommu;
  const sv = s.servicing;
  if (sv.iommu === iommu && sv.phase === 'read' && (slot < 0 || !s.prq.some((r) => r.slot === slot && r.dev === dev))) return;
  runGroups(s, faultThread(s, iommu), retryAttached(slot, detached));
};

/**
 * A concurrent unbind's PRQ drain, the fault thread's first pass (points.ts drainSplits):
 * intel_iommu_drain_pasid_prq runs the thread, which reads the queue and answers what has no
 * handler itself, so those requests' credits are back before its loop ends; their PRQ slots
 * stay taken until its PQH write (drainRelease). A request the device sends meanwhile is taken
 * by the thread's re-run (IRQTF_RUNTHREAD) before the drain returns (vtd --fix all --groups 0.5
 * seed 1729, run 1289: {prg on the RID, unbind} with two RID requests holding the device's two
 * credits; the impl's thread answered the first, the prg sent with its credit, the re-run
 * answered that too). The work items wait for drainEnd.
 */
export const drainRead = (s: SpecState, dev: number): void => threadRead(s, s.t.topology.devices[dev]!.iommu, undefined, true);

/** The drain's thread writes PQH: the slots it read are free, an overflow cleared if nothing came in. */
export const drainRelease = (s: SpecState, dev: number): void => threadRelease(s, s.t.topology.devices[dev]!.iommu);

/** The drain's end: the thread's re-run takes what came in since its read, then the workqueue runs every group, as drainIommu's. */
export const drainEnd = (s: SpecState, dev: number, slot: number, detached: readonly number[]): void => {
  threadLoopEnd(s, s.t.topology.devices[dev]!.iommu);
  runGroups(s, s.servicing.pending.splice(0), retryAttached(slot, detached));
};

/**
 * iopf_queue_remove_device answers every group on the device's pending list Invalid and takes it
 * off (list_del_init). A fault thread that met an iopf_group_alloc failure has put the abort
 * group on that list and not yet answered it Response Failure (kept in servicing.unanswered):
 * the removal answers it Invalid, and the thread's iopf_group_response then finds nothing pending
 * (io-pgfault.c, v7.0-rc5), so the endpoint's PRI stays on (bench:faults clean row, vtd seed
 * 801729: the unbind answered the abort group before the PRQ thread).
 */
export const answerPendingAborts = (s: SpecState, dev: number): void => {
  const kept = s.servicing.unanswered;
  let k = 0;
  for (const a of kept) {
    if (a.r.dev === dev && a.code === 'failure') respond(s, a.r.dev, a.r.slot, a.r.prgi, 'invalid', true);
    else kept[k++] = a;
  }
  kept.length = k;
};

/** iopf_queue_remove_device: the device's kept partial requests are freed. */
export const dropPartials = (s: SpecState, dev: number): void => {
  let p = 0;
  for (const q of s.partial) if (q.dev !== dev) s.partial[p++] = q;
  s.partial.length = p;
};
