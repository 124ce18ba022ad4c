import { type IommuSpec, type TraceSink, prqEntries } from '../../shared/index.js';
import { Counters } from '../counters.js';
import type { PciDevice } from '../device.js';
import { HwError } from '../errors.js';
import type { IommuUnit, PageRequestOutcome, Translation } from '../iommu.js';
import type { PhysMem } from '../mem.js';
import { MAX_AGAW_PFN_WIDTH, type QiDesc } from './descriptor.js';
import { InvalidationQueue, type DescResult } from './invQueue.js';
import { Iotlb } from './iotlb.js';
import { PasidCache } from './pasidCache.js';
import type { PasidTable } from './pasidTable.js';
import { PageRequestQueue } from './prq.js';
import { PagingStructureCache } from './psc.js';
import { FAULTS, firstLevelTranslate, nestedTranslate, secondLevelTranslate, type WalkCaches } from './walk.js';
import { vtdCacheLines } from './cacheLines.js';

/** What submitting a wait did: run the queue up to it, stopped at an ITE, or left it queued. */
export type WaitStatus = 'completed' | 'timeout' | 'queued';

/** Hooks for invariants that must see every descriptor and wait, in order (as SmmuObserver). */
export interface VtdObserver {
  onSubmit?(unit: VtdUnit, desc: QiDesc): void;
  onWait?(unit: VtdUnit, status: WaitStatus): void;
}

/**
 * One emulated VT-d DMAR unit in scalable mode: context entries (source id → PASID table),
 * PASID cache, IOTLB, first-level paging-structure cache, invalidation queue and page request
 * queue. Passive: it holds what software programmed and obeys descriptors; it knows nothing of
 * SVA. Capabilities come from the topology: `pasidBits` (ecap PSS + 1) and `didBits` (cap ND).
 */
export class VtdUnit implements IommuUnit, WalkCaches {
  readonly name: string;
  readonly counters = new Counters();
  readonly pasidBits: number;
  readonly didBits: number;
  readonly pasidCache = new PasidCache();
  readonly iotlb = new Iotlb();
  readonly psc = new PagingStructureCache();
  readonly prq: PageRequestQueue;
  readonly queue: InvalidationQueue;
  observer: VtdObserver | undefined;
  /**
   * The PRQ's interrupt line (PPR set: a page request was queued), as the driver's
   * request_threaded_irq wired it; undefined while no handler is registered.
   */
  prqInterrupt: (() => void) | undefined;
  private readonly contexts = new Map<number, { readonly dev: PciDevice; readonly table: PasidTable; readonly pre: boolean }>();

  constructor(readonly index: number, spec: IommuSpec, readonly mem: PhysMem, readonly trace?: TraceSink) {
    this.name = `vtd${index}`;
    this.pasidBits = spec.pasidBits;
    this.didBits = spec.didBits;
    this.prq = new PageRequestQueue(prqEntries(spec));
    this.queue = new InvalidationQueue(
      { unit: this.name, pasidBits: spec.pasidBits, didBits: spec.didBits },
      this.counters, (d) => this.execute(d), trace,
    );
  }

  /**
   * Software programs the scalable-mode context entry of `dev`: its PASID directory, and PRE
   * (page request enable: the unit accepts the device's page requests into the PRQ).
   */
  /** The endpoint behind `sid`, if a context entry names it (for traces). */
  deviceOf(sid: number): PciDevice | undefined {
    return this.contexts.get(sid)?.dev;
  }

  setContext(dev: PciDevice, table: PasidTable, pre = false): void {
    if (dev.iommu !== this) throw new HwError(this.name, `${dev.name} sits behind ${dev.iommu.name}`);
    this.contexts.set(dev.sid, { dev, table, pre });
  }

  /**
   * A page request from `dev` (`pasid` -1: none, a request on the RID): with PRE set it becomes
   * a PRQ descriptor (whatever the PASID entry says: requests of a torn-down PASID still
   * arrive, hence the drain). Returns the first-level table the PASID entry points at now (-1
   * if none), or undefined without PRE; `dropped` when the ring was full: PRO is set and the
   * request is not recorded (for a LAST the unit answers the group Success itself: the caller
   * delivers that response, see PciDevice.sendGroup).
   */
  pageRequest(dev: PciDevice, pasid: number, vpn: number, write: boolean, prgi: number, last: boolean): PageRequestOutcome | undefined {
    const ctx = this.contexts.get(dev.sid);
    if (ctx === undefined || !ctx.pre) return undefined;
    const pasidPresent = pasid >= 0;
    // The entry a walk uses: the PASID cache's, until an invalidation takes it out (as the
    // SMMU's config cache for a stall: smmuV3.ts pageRequest).
    const e = pasidPresent ? this.pasidCache.lookup(dev.sid, pasid) ?? ctx.table.fetch(pasid) : undefined;
    const root = e?.present === true ? e.flptr : -1;
    this.counters.bump('prq.request');
    if (!this.prq.append({ sid: dev.sid, pasidPresent, pasid: pasidPresent ? pasid : 0, vpn, write, lpig: last, prgi })) {
      this.counters.bump('prq.overflow');
      if (this.trace) this.trace.event('queue', this.name, `PRQ full: ${dev.name} prg=${prgi} dropped, PRO set`);
      return { root, dropped: true };
    }
    if (this.trace) this.trace.event('queue', this.name, `PRQ: ${dev.name} ${pasidPresent ? `pasid=${pasid}` : 'rid'} vpn=0x${vpn.toString(16)}${write ? ' w' : ' r'} prg=${prgi}${last ? '' : ' (not last)'}`);
    this.prqInterrupt?.();
    return { root, dropped: false };
  }

  /**
   * A Stop Marker from `dev` on `pasid` (PCIe: a Page Request Message with L = 1, R = W = 0; as
   * we read PCIe its PRG index and address are reserved, sent as 0): with PRE set it becomes a
   * PRQ descriptor (LPIG set, RD_REQ and WR_REQ clear) and raises the PRQ interrupt like a page
   * request; a full ring drops it silently (ecap SMS = 1). Undefined without PRE.
   */
  stopMarker(dev: PciDevice, pasid: number): 'queued' | 'dropped' | undefined {
    const ctx = this.contexts.get(dev.sid);
    if (ctx === undefined || !ctx.pre) return undefined;
    this.counters.bump('prq.stop_marker');
    if (!this.prq.appendStopMarker({ sid: dev.sid, pasidPresent: true, pasid, vpn: 0, read: false, write: false, lpig: true, prgi: 0 })) {
      this.counters.bump('prq.stop_marker_dropped');
      if (this.trace) this.trace.event('queue', this.name, `PRQ full: ${dev.name} stop marker pasid=${pasid} dropped silently`);
      return 'dropped';
    }
    if (this.trace) this.trace.event('queue', this.name, `PRQ: ${dev.name} stop marker pasid=${pasid}`);
    this.prqInterrupt?.();
    return 'queued';
  }

  /** The PASID table a source id's context entry points at. */
  pasidTable(sid: number): PasidTable | undefined {
    return this.contexts.get(sid)?.table;
  }

  /** Queue a descriptor; a wait runs the queue up to it (see InvalidationQueue). */
  submit(desc: QiDesc): void {
    if ((desc.kind === 'devtlb' || desc.kind === 'prs') && !this.contexts.has(desc.sid)) {
      throw new HwError(this.name, `${desc.kind} descriptor for unknown SID ${desc.sid}`);
    }
    const obs = this.observer;
    if (obs === undefined) return this.queue.submit(desc);
    obs.onSubmit?.(this, desc);
    const done = this.queue.completedWaits;
    const aborted = this.queue.abortedWaits;
    this.queue.submit(desc);
    if (desc.kind !== 'wait' || obs.onWait === undefined) return;
    const status = this.queue.abortedWaits !== aborted ? 'timeout' : this.queue.completedWaits !== done ? 'completed' : 'queued';
    obs.onWait(this, status);
  }

  get ite(): boolean {
    return this.queue.ite;
  }

  clearIte(): void {
    this.queue.clearIte();
  }

  translate(dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation {
    const ctx = this.contexts.get(dev.sid);
    if (ctx === undefined || pasid >= 2 ** this.pasidBits) return FAULTS['no-pasid-entry'];
    let entry = this.pasidCache.lookup(dev.sid, pasid);
    if (entry !== undefined) {
      this.counters.bump('pc.hit');
    } else {
      this.counters.bump('pc.miss');
      entry = ctx.table.fetch(pasid);
      if (entry === undefined || !entry.present) {
        return entry?.fpd === true ? FAULTS['fault-disabled'] : FAULTS['no-pasid-entry'];
      }
      this.pasidCache.fill(dev.sid, pasid, entry);
      if (this.trace) this.trace.event('cache', this.name, `PASID cache fill sid ${dev.sid} PASID ${pasid} (DID ${entry.did})`);
    }
    // First-level (SVA, first-stage paging domains), second-stage-only (second-stage paging
    // domains) and nested (iommufd nested domains) entries are walked; pass-through entries
    // are not programmed.
    if (entry.pgtt === 'FL') return firstLevelTranslate(this, entry, pasid, vpn, write);
    if (entry.pgtt === 'SL') return secondLevelTranslate(this, entry, vpn, write);
    if (entry.pgtt === 'NESTED') return nestedTranslate(this, entry, pasid, vpn, write);
    return FAULTS['no-pasid-entry'];
  }

  /** One descriptor taking effect (called by the queue, in order, up to a wait). */
  private execute(d: QiDesc): DescResult {
    if (this.trace === undefined || d.kind === 'wait' || d.kind === 'prs') return this.apply(d);
    const before = vtdCacheLines(this, d);
    const r = this.apply(d);
    const after = new Set(vtdCacheLines(this, d));
    const evicted = before.filter((l) => !after.has(l));
    this.trace.event('cache', this.name, `apply ${d.kind}: ${evicted.length === 0 ? 'evicts nothing' : `evicts ${evicted.join('; ')}`}`);
    return r;
  }

  private apply(d: QiDesc): DescResult {
    // A plain switch with a `never` default instead of ts-pattern: measured hot path (every
    // descriptor that takes effect; the match builder allocated on each one).
    switch (d.kind) {
      case 'pc':
        if (d.granularity === 'domain') this.pasidCache.invalidateDomain(d.did);
        else this.pasidCache.invalidatePasid(d.did, d.pasid);
        return 'done';
      case 'piotlb': {
        if (d.granularity === 'pasid') {
          this.iotlb.invalidatePasid(d.did, d.pasid);
          this.psc.invalidatePasid(d.did, d.pasid);
          return 'done';
        }
        const pages = 2 ** d.am;
        this.iotlb.invalidateRange(d.did, d.pasid, d.addr, pages);
        // IH (invalidation hint) = 0: paging-structure entries that could translate the range go too.
        if (!d.ih) this.psc.invalidateRange(d.did, d.pasid, d.addr, pages);
        return 'done';
      }
      // Second-stage invalidations match second-stage-only entries (DID-tagged, PSI by address)
      // and every nested entry of the DID; the first-level, PASID-tagged entries need P_IOTLB
      // here (VT-d spec 6.5.2.3, 6.5.2.4; iotlb.ts says where the model departs from 6.5.2.3).
      case 'iotlb_dsi':
        this.iotlb.invalidateDomain(d.did);
        return 'done';
      case 'iotlb_psi':
        this.iotlb.invalidateDomainRange(d.did, d.addr, 2 ** d.am);
        return 'done';
      case 'devtlb': {
        const dev = this.contexts.get(d.sid)!.dev;
        if (dev.disconnected) return 'timeout';
        const pages = d.sizeOrder >= MAX_AGAW_PFN_WIDTH ? Infinity : 2 ** d.sizeOrder;
        dev.atcInvalidate(d.global ? undefined : d.pasid, d.addr, pages);
        return 'done';
      }
      case 'wait':
        // PD (page-request drain): requests the devices sent before this wait are in the PRQ by
        // the time it completes; the queue is in memory already, so only the count is kept.
        if (d.drain) this.counters.bump('prq.drain');
        return 'done';
      case 'prs':
        // The response travels to the endpoint as a PRG Response Message.
        this.contexts.get(d.sid)!.dev.pageResponse(d.pasidPresent ? d.pasid : -1, d.prgi, d.code);
        return 'done';
      default: {
        const never: never = d;
        throw new Error(`execute: unknown descriptor ${JSON.stringify(never)}`);
      }
    }
  }
}
