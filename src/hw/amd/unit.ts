import type { TraceSink } from '../../shared/index.js';
import { Counters } from '../counters.js';
import type { PciDevice } from '../device.js';
import { HwError } from '../errors.js';
import type { IommuUnit, PageRequestOutcome, Translation } from '../iommu.js';
import type { PhysMem } from '../mem.js';
import { Iotlb, didPasidKey } from '../vtd/iotlb.js';
import { PagingStructureCache } from '../vtd/psc.js';
import { FAULTS, firstLevelTranslate, type WalkCaches } from '../vtd/walk.js';
import { CommandBuffer } from './cmdBuf.js';
import { formatCmd, invRange, type AmdCmd } from './commands.js';
import { DevTable, type Dte, type Gcr3Entry, type Gcr3Table } from './devTable.js';
import { LogRing, type AmdEvent, type PprEntry } from './logs.js';

/** Hooks for invariants that must see every command and completion wait, in order. */
export interface AmdObserver {
  onSubmit?(unit: AmdIommuUnit, cmd: AmdCmd): void;
  onWait?(unit: AmdIommuUnit): void;
}

/** A cached GCR3 entry and the table it was read from (a reused DomainID must not match a new table). */
export interface CachedGcr3 {
  readonly table: Gcr3Table;
  readonly entry: Gcr3Entry;
}

/** Every cache line a command could evict, as the timeline names it. */
const amdCacheLines = (u: AmdIommuUnit, c: AmdCmd): string[] => {
  const out: string[] = [];
  for (const [devid] of u.dteCache) out.push(`DTE cache DevID ${devid}`);
  for (const [key] of u.gcr3Cache) out.push(`GCR3 cache key 0x${key.toString(16)}`);
  for (const e of u.iotlb.entries()) out.push(`IOTLB DID ${e.did} PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  for (const e of u.psc.entries()) out.push(`PDC DID ${e.did} PASID ${e.pasid} level ${e.level} prefix 0x${e.prefix.toString(16)} → table ${e.frame}`);
  if (c.kind === 'INVALIDATE_IOTLB_PAGES') {
    const dev = u.endpointOf(c.devid);
    for (const e of dev?.atcEntries() ?? []) out.push(`${dev!.name} ATC PASID ${e.pasid} vpn 0x${e.vpn.toString(16)}`);
  }
  return out;
};

/**
 * One emulated AMD IOMMU (AMD-Vi with guest translation, 48882): the device table and a DTE
 * cache, per-device GCR3 tables and a GCR3-entry cache, an IOTLB tagged by (DomainID, PASID), a
 * page-directory cache with the same tags, the command buffer, the PPR log and the event log.
 * Guest (PASID) translation walks the x86 page tables the GCR3 entry points at, as first-level
 * VT-d does; so the IOTLB, the page-directory cache and the walk are VT-d's classes, keyed here
 * by DomainID instead of DID. Passive: it knows nothing of SVA.
 *
 * Invalidation scope, as modelled: INVALIDATE_IOMMU_PAGES with GN = 1 drops (DomainID, PASID)
 * IOTLB entries in its range and, with PDE = 1, page-directory entries that overlap it; the
 * all-pages form also drops the cached GCR3 entry (what software must send after changing a
 * GCR3 entry, 48882 §2.2.6). GN = 0 names host (nested) translations, which SVA never caches.
 */
export class AmdIommuUnit implements IommuUnit, WalkCaches {
  readonly name: string;
  readonly counters = new Counters();
  readonly devTable: DevTable;
  readonly dteCache = new Map<number, Dte>();
  /** (DomainID, PASID) → the GCR3 entry read last. */
  readonly gcr3Cache = new Map<number, CachedGcr3>();
  readonly iotlb = new Iotlb();
  /** The page-directory cache (PDE entries of guest walks), named psc for the shared walker. */
  readonly psc = new PagingStructureCache();
  readonly cmdBuf: CommandBuffer;
  readonly pprLog: LogRing<PprEntry>;
  readonly eventLog = new LogRing<AmdEvent>();
  observer: AmdObserver | undefined;
  /** Endpoints by DevID: where IOTLB invalidations and PPR completions go. */
  private readonly endpoints = new Map<number, PciDevice>();

  constructor(readonly index: number, readonly mem: PhysMem, readonly trace?: TraceSink, pprEntries?: number) {
    this.name = `amd${index}`;
    this.pprLog = new LogRing<PprEntry>(pprEntries);
    this.devTable = new DevTable(this.name);
    this.cmdBuf = new CommandBuffer(this.name, this.counters, (c) => this.execute(c), trace);
  }

  /** The endpoint wired to a DevID, if any. */
  endpointOf(devid: number): PciDevice | undefined {
    return this.endpoints.get(devid);
  }

  /** Wire an endpoint to its DevID (the IVRS table). */
  connect(dev: PciDevice): void {
    const had = this.endpoints.get(dev.sid);
    if (had !== undefined && had !== dev) throw new HwError(this.name, `DevID ${dev.sid} already used by ${had.name}`);
    this.endpoints.set(dev.sid, dev);
  }

  submit(cmd: AmdCmd): void {
    if ((cmd.kind === 'INVALIDATE_IOTLB_PAGES' || cmd.kind === 'COMPLETE_PPR_REQUEST') && !this.endpoints.has(cmd.devid)) {
      throw new HwError(this.name, `${formatCmd(cmd)}: no endpoint on DevID ${cmd.devid}`);
    }
    const obs = this.observer;
    obs?.onSubmit?.(this, cmd);
    this.cmdBuf.submit(cmd);
    if (cmd.kind === 'COMPLETION_WAIT') obs?.onWait?.(this);
  }

  private dte(devid: number): Dte {
    const cached = this.dteCache.get(devid);
    if (cached !== undefined) {
      this.counters.bump('dte.hit');
      return cached;
    }
    this.counters.bump('dte.miss');
    const dte = this.devTable.get(devid);
    if (dte.v) this.dteCache.set(devid, dte);
    return dte;
  }

  /** The GCR3 entry a request of (dte, pasid) uses: the cache, else memory (filling the cache). */
  private gcr3(dte: Dte, pasid: number): Gcr3Entry | undefined {
    const key = didPasidKey(dte.domid, pasid);
    const c = this.gcr3Cache.get(key);
    if (c !== undefined && c.table === dte.gcr3) {
      this.counters.bump('gcr3.hit');
      return c.entry;
    }
    this.counters.bump('gcr3.miss');
    const table = dte.gcr3!;
    if (table.freed) this.counters.bump('gcr3.walk_freed');
    const e = table.fetch(pasid);
    if (e === undefined || !e.valid) return undefined;
    this.gcr3Cache.set(key, { table, entry: e });
    return e;
  }

  /**
   * DTE → GCR3 entry → IOTLB → page-directory cache → walk. Untagged requests (PASID 0) use the
   * identity RID domain, which has no DMA target in the harness: reported as a stream abort.
   */
  translate(dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation {
    const dte = this.dte(dev.sid);
    if (!dte.v || !dte.tv || pasid === 0) return FAULTS['stream-abort'];
    if (!dte.gv || dte.gcr3 === undefined) return FAULTS['no-pasid-entry'];
    const e = this.gcr3(dte, pasid);
    if (e === undefined) return FAULTS['no-pasid-entry'];
    return firstLevelTranslate(this, { did: dte.domid, flptr: e.cr3, levels: dte.gptLevels }, pasid, vpn, write);
  }

  /**
   * A PCIe page request: with DTE.PPR it is logged in the PPR log (whatever the GCR3 entry says
   * now: requests of a torn-down PASID still arrive); `pasid` -1 is a request without a PASID
   * (GN = 0, logged with PASID 0); bit 9 of the logged tag is LAST. Returns the guest CR3 the
   * request was made against (-1 when none is present); undefined when the DTE does not take
   * page requests (logged as INVALID_PPR_REQUEST). A full PPR log discards the entry and stops
   * logging until software restarts it (48882 §2.6.2, PPRLogOverflow; LogRing): the endpoint's
   * request is then `lost`, never answered (no auto response: LogRing).
   */
  pageRequest(dev: PciDevice, pasid: number, vpn: number, write: boolean, prgi: number, last: boolean): PageRequestOutcome | undefined {
    const gn = pasid >= 0;
    const dte = this.dte(dev.sid);
    if (!dte.v || !dte.ppr) {
      this.eventLog.append({ type: 'INVALID_PPR_REQUEST', devid: dev.sid, pasid: gn ? pasid : 0 });
      return undefined;
    }
    const e = gn && dte.gv && dte.gcr3 !== undefined ? this.gcr3(dte, pasid) : undefined;
    if (!this.pprLog.append({ devid: dev.sid, pasid: gn ? pasid : 0, gn, vpn, write, tag: prgi, last })) {
      this.counters.bump('ppr.overflow');
      if (this.trace) this.trace.event('queue', this.name, `PPR log ${this.pprLog.overflow ? 'full' : 'stopped'}: ${dev.name} tag=${prgi} discarded, PPROverflow set`);
      return { root: e?.cr3 ?? -1, dropped: false, lost: true };
    }
    this.counters.bump('ppr.request');
    if (this.trace) this.trace.event('queue', this.name, `PPR: ${dev.name} ${gn ? `pasid=${pasid}` : 'rid'} vpn=0x${vpn.toString(16)}${write ? ' w' : ' r'} tag=${prgi}${last ? '' : ' (not last)'}`);
    return { root: e?.cr3 ?? -1, dropped: false };
  }

  /** One command taking effect (called by the buffer, in order). */
  private execute(c: AmdCmd): void {
    if (this.trace === undefined || c.kind === 'COMPLETION_WAIT' || c.kind === 'COMPLETE_PPR_REQUEST') {
      this.apply(c);
      return;
    }
    // Recording a timeline: what each command evicts is an event (as on VT-d and SMMUv3).
    const before = amdCacheLines(this, c);
    this.apply(c);
    const after = new Set(amdCacheLines(this, c));
    const evicted = before.filter((l) => !after.has(l));
    this.trace.event('cache', this.name, `apply ${c.kind}: ${evicted.length === 0 ? 'evicts nothing' : `evicts ${evicted.join('; ')}`}`);
  }

  private apply(c: AmdCmd): void {
    // A plain switch with a `never` default: the per-command hot path.
    switch (c.kind) {
      case 'INVALIDATE_IOMMU_PAGES': {
        if (!c.gn) return; // host translations: none are cached for SVA
        const r = invRange(c.address, c.s);
        if (r.pages === Infinity) {
          this.iotlb.invalidatePasid(c.domid, c.pasid);
          if (c.pde) this.psc.invalidatePasid(c.domid, c.pasid);
          this.gcr3Cache.delete(didPasidKey(c.domid, c.pasid));
          return;
        }
        this.iotlb.invalidateRange(c.domid, c.pasid, r.first, r.pages);
        if (c.pde) this.psc.invalidateRange(c.domid, c.pasid, r.first, r.pages);
        return;
      }
      case 'INVALIDATE_IOTLB_PAGES': {
        const dev = this.endpoints.get(c.devid)!;
        if (dev.disconnected) {
          // The ATS invalidation never completes: the IOMMU logs the time-out and moves on.
          this.counters.bump('event.IOTLB_INV_TIMEOUT');
          this.eventLog.append({ type: 'IOTLB_INV_TIMEOUT', devid: c.devid, pasid: c.pasid });
          return;
        }
        const r = invRange(c.address, c.s);
        dev.atcInvalidate(c.gn ? c.pasid : undefined, r.first, r.pages);
        return;
      }
      case 'INVALIDATE_DEVTAB_ENTRY':
        this.dteCache.delete(c.devid);
        return;
      case 'COMPLETE_PPR_REQUEST': {
        const code = c.status === 0 ? 'success' : c.status === 1 ? 'invalid' : 'failure';
        this.endpoints.get(c.devid)!.pageResponse(c.gn ? c.pasid : undefined, c.tag, code);
        return;
      }
      case 'COMPLETION_WAIT':
        return;
      default: {
        const never: never = c;
        throw new Error(`execute: unknown command ${JSON.stringify(never)}`);
      }
    }
  }
}
