import { Counters } from './counters.js';
import { HwError } from './errors.js';
import type { IommuUnit, Translation } from './iommu.js';
import type { PhysMem } from './mem.js';
import { type OutstandingRequest, PriEndpoint } from './pri.js';
import { PRI_CREDITS, type PageResponseCode } from '../shared/index.js';

export interface AtcEntry {
  readonly frame: number;
  readonly write: boolean;
}

/**
 * A DMA's result: the content token it reached, or the fault that stopped it. A PRI endpoint's
 * miss that became a page request is not done yet: `pending` marks it (the access waits for
 * the page response; its outcome is recorded in the endpoint's completion log).
 */
export type DmaResult =
  | { readonly ok: true; readonly token: number }
  | { readonly ok: false; readonly fault: string; readonly pending?: true };

/** The result of an access that sent a page request: shared, so a miss allocates only the request. */
export const DMA_PENDING: DmaResult = Object.freeze({ ok: false, fault: 'PRI: page request sent', pending: true });

const NO_CREDIT: DmaResult = Object.freeze({ ok: false, fault: 'PRI: no outstanding page request credit' });

/** Drop the ATC entries of one PASID in vpns [firstVpn, firstVpn + pages) (Infinity: all). */
function dropRange(m: Map<number, AtcEntry>, firstVpn: number, pages: number): void {
  if (pages === Infinity) return m.clear();
  // Deleting the entry being visited is safe in a Map iteration.
  for (const vpn of m.keys()) if (vpn >= firstVpn && vpn < firstVpn + pages) m.delete(vpn);
}

/**
 * A PCIe endpoint behind an IOMMU. With ATS it caches translations in its ATC, keyed by
 * (PASID, page); the ATC is emptied only by invalidations the IOMMU forwards to it.
 */
export class PciDevice {
  readonly counters = new Counters();
  /** ATC: PASID → (vpn → entry). Nested maps keep keys exact beyond 2^53. */
  private readonly atc = new Map<number, Map<number, AtcEntry>>();
  /**
   * The ATS Control register's Enable bit (PCIe 10.5.1.3), which the OS sets (pci_enable_ats)
   * and clears (pci_disable_ats); `ats` is only the capability. With it clear the endpoint
   * neither asks for translations to cache nor uses its ATC. Set from the start unless the
   * IOMMU driver takes control of it at probe (SMMUv3's arm_smmu_enable_ats does; the VT-d and
   * AMD ports enable ATS once at probe, which this default stands for).
   */
  atsEnabled: boolean;
  /** Surprise-removed: invalidations sent to it never complete. */
  disconnected = false;
  /** PRI state when the endpoint has PRI (pri = true), else undefined. */
  readonly priState: PriEndpoint | undefined;

  constructor(
    readonly id: number,
    /** Requester/stream id as the IOMMU sees it. */
    readonly sid: number,
    readonly iommu: IommuUnit,
    readonly pasidBits: number,
    readonly ats: boolean,
    readonly pri: boolean,
    private readonly mem: PhysMem,
  ) {
    this.atsEnabled = ats;
    this.priState = pri ? new PriEndpoint(PRI_CREDITS) : undefined;
    this.name = `dev${id}`;
    this.maxPasids = pasidBits === 0 ? 0 : 2 ** pasidBits;
  }

  // Fields, not getters: both are read on every DMA and by most invariants, every step.
  readonly name: string;
  readonly maxPasids: number;

  /**
   * One DMA through `pasid`: the ATC first; on a miss (or a cached entry without write
   * permission, for which PCIe ATS requires a fresh translation request) the IOMMU translates,
   * and an ATS device caches the answer. Reads and writes both report the token they reached.
   */
  dma(pasid: number, vpn: number, write: boolean): DmaResult {
    if (!this.canEmit(pasid)) return { ok: false, fault: `${this.name}: no-pasid-cap` };
    if (this.atsEnabled) {
      const hit = this.atc.get(pasid)?.get(vpn);
      if (hit !== undefined && (hit.write || !write)) {
        this.counters.bump('atc.hit');
        return { ok: true, token: this.mem.hwAccess(hit.frame, this.name) };
      }
      this.counters.bump('atc.miss');
    }
    const t = this.iommu.translate(this, pasid, vpn, write);
    if (!t.ok) {
      // A walk that found no page, or too little permission, is what PRI recovers from; a
      // missing or blocked PASID entry / CD is not (the completion is UR, not "no access").
      if (this.priState !== undefined && (t.fault === 'not-present' || t.fault === 'no-permission')) {
        const r = this.pageRequest(this.priState, pasid, vpn, write);
        if (r !== undefined) return r;
      }
      if (!this.atsEnabled) this.iommu.terminated?.(this, pasid, vpn, write, t.fault);
      return { ok: false, fault: `${this.iommu.name}: ${t.fault}` };
    }
    if (this.atsEnabled) this.fill(pasid, vpn, t);
    return { ok: true, token: this.mem.hwAccess(t.frame, this.name) };
  }

  /** Send a page request for the access (a group of one); undefined when the IOMMU refuses it. */
  private pageRequest(pri: PriEndpoint, pasid: number, vpn: number, write: boolean): DmaResult | undefined {
    return this.sendGroup(pri, pasid, [vpn], write);
  }

  /**
   * One Page Request Group (PCIe 10.4.1): a request per page, one PRG index, LAST on the final
   * one; `pasid` -1 sends them without a PASID, on the RID. Each request takes a credit: with
   * too few left the endpoint sends nothing. Undefined when the IOMMU refuses page requests.
   * A LAST the IOMMU drops on a full queue is answered Success by the IOMMU itself (VT-d 3.x
   * §7.5): that response is delivered here, once the request is outstanding.
   */
  sendGroup(pri: PriEndpoint, pasid: number, vpns: readonly number[], write: boolean, groupLast = true, unbound = false): DmaResult | undefined {
    if (pri.responseFailure) return undefined;
    if (pri.outstanding.length + vpns.length > pri.credits) return NO_CREDIT;
    const open = pri.openPrgi(pasid);
    const prgi = open >= 0 ? open : pri.allocPrgi();
    for (let i = 0; i < vpns.length; i++) {
      const vpn = vpns[i]!;
      const last = groupLast && i === vpns.length - 1;
      const r = this.iommu.pageRequest?.(this, pasid, vpn, write, prgi, last);
      if (r === undefined) return undefined;
      this.counters.bump('pri.request');
      const req: OutstandingRequest = { pasid, vpn, write, prgi, root: r.root, last };
      pri.outstanding.push(r.lost === true || unbound ? { ...req, ...(r.lost === true ? { lost: true } : {}), ...(unbound ? { unbound: true } : {}) } : req);
      if (r.dropped && last) this.pageResponse(pasid, prgi, 'success');
    }
    return DMA_PENDING;
  }

  /**
   * `prg`: the device sends requests of one Page Request Group (continuing its open group on
   * the PASID, if any); `last` false holds the LAST back. Undefined when the IOMMU refuses.
   */
  pageRequestGroup(pasid: number, vpns: readonly number[], write: boolean, last = true, unbound = false): DmaResult | undefined {
    const pri = this.priState;
    if (pri === undefined) throw new HwError(this.name, 'page request group from a device without PRI');
    if (pasid >= 0 && !this.canEmit(pasid)) return { ok: false, fault: `${this.name}: no-pasid-cap` };
    if (pasid >= 0 && this.stopped.length > 0 && this.stopped.includes(pasid)) return { ok: false, fault: `${this.name}: stopped` };
    return this.sendGroup(pri, pasid, vpns, write, last, unbound);
  }

  /**
   * The device's driver stops the device using `pasid` (before its unbind): open groups are
   * abandoned, and until resumePasid the device sends no page request there.
   * iommu_sva_unbind_device's caller contract ("The device should not be issuing any more
   * transaction for this PASID") is what makes the window between the detach's iopf removal and
   * its xa_erase safe: a request there finds the handle and no iopf_param, and WARNs.
   */
  stopPasid(pasid: number): void {
    this.priState?.abandon(pasid);
    this.stopped.push(pasid);
  }

  /** The unbind that stopped `pasid` has returned: the PASID is free again, to the device's next user. */
  resumePasid(pasid: number): void {
    const i = this.stopped.indexOf(pasid);
    if (i >= 0) this.stopped.splice(i, 1);
  }

  /** PASIDs between stopPasid and resumePasid: empty outside a concurrent group's unbind. */
  private readonly stopped: number[] = [];

  /**
   * The function stops using `pasid` with a Stop Marker (PCIe r4.0 and later, 10.4.1.2, "to
   * stop with the use of a Stop Marker Message"): it has finished its groups there (the
   * caller's contract: none is open, step 2), marks its outstanding requests of the PASID stale
   * (step 3: their responses return the credits and PRG indexes and are otherwise ignored), and
   * sends the Stop Marker (step 5: later requests on the PASID are a new use of it). The marker
   * holds no credit and awaits no response: PRG responses are what return credits, and a Stop
   * Marker gets none. Undefined when the IOMMU does not take page requests from the endpoint
   * or its PRI was disabled by a Response Failure; 'dropped' when its queue was full.
   */
  stopMarker(pasid: number): 'queued' | 'dropped' | undefined {
    const pri = this.priState;
    if (pri === undefined) throw new HwError(this.name, 'stop marker from a device without PRI');
    if (pri.openPrgi(pasid) >= 0) throw new HwError(this.name, `stop marker on PASID ${pasid} with PRG ${pri.openPrgi(pasid)} still open (PCIe 10.4.1.2: groups are finished first)`);
    if (pri.responseFailure || !this.canEmit(pasid)) return undefined;
    const r = this.iommu.stopMarker?.(this, pasid);
    if (r === undefined) return undefined;
    this.counters.bump('pri.stop_marker');
    pri.markStale(pasid);
    return r;
  }

  /**
   * A page response (VT-d page group response descriptor, SMMU CMD_RESUME) as the IOMMU
   * delivers it: it answers the whole group. One that names no outstanding request is a
   * protocol error, logged. Success makes the endpoint retry each request of the group: an ATS
   * translation request, then the access; Invalid ends the accesses with an error (the endpoint
   * does not retry); Response Failure ends them too and disables the function's PRI for good.
   * A request without a PASID has nothing to retry through here, nor has a stale one (the
   * function stopped its PASID with a Stop Marker). A surprise-removed endpoint
   * receives nothing: its accesses are simply lost (no retry, nothing cached).
   */
  pageResponse(pasid: number | undefined, prgi: number, code: PageResponseCode): void {
    const pri = this.priState;
    const reqs = pri?.takeGroup(pasid, prgi);
    if (pri === undefined || reqs === undefined || reqs.length === 0) {
      this.counters.bump('pri.stray_response');
      const what = `${this.name}: ${code} response to PRG ${prgi}${pasid === undefined ? '' : pasid < 0 ? ' (RID)' : ` PASID ${pasid}`} with no such request outstanding`;
      if (pri === undefined) throw new HwError(this.name, `${what} (no PRI)`);
      pri.protocolErrors.push(what);
      return;
    }
    // The kernel never saw a request the IOMMU discarded: an answer to its group is not one.
    if (reqs.some((r) => r.lost === true && r.last)) pri.protocolErrors.push(`${this.name}: ${code} response to PRG ${prgi} whose LAST the IOMMU discarded`);
    pri.responses++;
    this.counters.bump(`pri.response.${code}`);
    if (code === 'failure') pri.responseFailure = true;
    for (const req of reqs) this.retry(pri, req, code);
  }

  private retry(pri: PriEndpoint, req: OutstandingRequest, code: PageResponseCode): void {
    const failed = { pasid: req.pasid, vpn: req.vpn, write: req.write, code, ok: false, token: -1, root: req.root };
    if (code !== 'success' || req.pasid < 0 || this.disconnected || req.stale === true) return pri.record(failed);
    const t = this.iommu.translate(this, req.pasid, req.vpn, req.write);
    if (!t.ok) {
      // A stale TLB entry (an invalidation still in flight) can fault the resumed transaction.
      if (this.iommu.stallsRetries === true && (t.fault === 'not-present' || t.fault === 'no-permission') &&
          this.pageRequest(pri, req.pasid, req.vpn, req.write) === DMA_PENDING) {
        this.counters.bump('pri.restall');
        return;
      }
      return pri.record(failed);
    }
    if (this.atsEnabled) this.fill(req.pasid, req.vpn, t);
    const token = this.mem.hwAccess(t.frame, this.name);
    pri.record({ pasid: req.pasid, vpn: req.vpn, write: req.write, code, ok: true, token, root: req.root });
  }

  /**
   * Surprise removal (the slot lost power or the link went down): the endpoint is gone, and
   * its ATC with it. Invalidations sent to it from now on never complete. (PRI state is kept:
   * requests already in an IOMMU's queue are still answered by the kernel.)
   */
  surpriseRemove(): void {
    this.disconnected = true;
    this.atc.clear();
  }

  /** The adversary's prefetch: an ATS translation request (read) whose answer the ATC keeps. */
  prefetch(pasid: number, vpn: number): void {
    if (!this.canEmit(pasid)) return;
    const t = this.iommu.translate(this, pasid, vpn, false);
    if (t.ok && this.atsEnabled) this.fill(pasid, vpn, t);
  }

  /**
   * An ATC invalidation as the IOMMU delivers it: `pasid` undefined = all PASIDs; the range is
   * [firstVpn, firstVpn + pages), pages = Infinity for all of the PASID's entries.
   */
  atcInvalidate(pasid: number | undefined, firstVpn: number, pages: number): void {
    this.counters.bump('atc.inv');
    if (pasid === undefined) for (const m of this.atc.values()) dropRange(m, firstVpn, pages);
    else {
      const m = this.atc.get(pasid);
      if (m !== undefined) dropRange(m, firstVpn, pages);
    }
  }

  /** ATC entries, sorted by (PASID, vpn): for invariants and traces. */
  atcEntries(): { pasid: number; vpn: number; entry: AtcEntry }[] {
    const out: { pasid: number; vpn: number; entry: AtcEntry }[] = [];
    for (const pasid of [...this.atc.keys()].sort((a, b) => a - b)) {
      const m = this.atc.get(pasid)!;
      for (const vpn of [...m.keys()].sort((a, b) => a - b)) out.push({ pasid, vpn, entry: m.get(vpn)! });
    }
    return out;
  }

  private fill(pasid: number, vpn: number, t: Translation & { ok: true }): void {
    let m = this.atc.get(pasid);
    if (m === undefined) this.atc.set(pasid, (m = new Map()));
    m.set(vpn, { frame: t.frame, write: t.write });
    const trace = this.iommu.trace;
    if (trace) trace.event('device', this.name, `ATC fill PASID ${pasid} vpn 0x${vpn.toString(16)} → frame ${t.frame}${t.write ? ' rw' : ' r'}`);
  }

  /**
   * The PCIe PASID prefix is as wide as the device's capability: it cannot send a larger one.
   * PASID 0 stands for a request without the prefix (IOMMU_NO_PASID, the RID's), which every
   * endpoint sends.
   */
  private canEmit(pasid: number): boolean {
    if (!Number.isInteger(pasid) || pasid < 0 || pasid >= 2 ** 20) {
      throw new HwError(this.name, `PASID ${pasid} out of range [0, 2^20 - 1]`);
    }
    return pasid === 0 || pasid < this.maxPasids;
  }
}
