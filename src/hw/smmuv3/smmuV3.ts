import { type IommuSpec, type TraceSink, prqEntries } from '../../shared/index.js';
import { Counters } from '../counters.js';
import type { PciDevice } from '../device.js';
import { HwError } from '../errors.js';
import type { FaultReason, IommuUnit, PageRequestOutcome, Translation } from '../iommu.js';
import { PTE_P, PTE_U, PTE_W, pteFrame, type PhysMem } from '../mem.js';
import { levelIndex, levelPrefix } from '../radix.js';
import { smmuCacheLines } from './cacheLines.js';
import { CdTable } from './cdTable.js';
import { ATC_INV_SIZE_ALL, TLBI_TG_4K, VPN_LIMIT, formatCmd, tlbiPages, validateCmd, type SmmuCaps, type SmmuCmd } from './commands.js';
import { ConfigCache } from './configCache.js';
import { SmmuCmdq, type SmmuObserver, type SyncStatus } from './cmdq.js';
import { StreamTable } from './streamTable.js';
import { SmmuTlb, type TlbEntry } from './tlb.js';
import { WalkCache } from './walkCache.js';
import { EventQueue, type TerminatedEventId } from './evtq.js';

const fault = (reason: FaultReason): Translation => ({ ok: false, fault: reason });

const F_STREAM = fault('stream-abort');
const F_NO_CD = fault('no-pasid-entry');
const F_EPD0 = fault('fault-disabled');
const F_NOT_PRESENT = fault('not-present');
const F_PERM = fault('no-permission');

/**
 * An emulated SMMUv3 (4K granule; stage 2 is implemented as far as the driver's stage-2 domains
 * reach it: VMIDs and the stage-2 TLBIs, but no STE here selects stage 2, so nothing walks or
 * caches a stage-2 table): stream table, per-master CD tables, an
 * STE/CD configuration cache, a TLB keyed by (ASID, page), a walk cache, and a command queue
 * whose effects apply at CMD_SYNC. Passive: it knows nothing of SVA, it only obeys its tables
 * and commands. FEAT_ATS is always present; whether a stream uses an ATC is the endpoint's
 * business (STE.EATS is recorded for invariants but not enforced).
 */
export class SmmuV3 implements IommuUnit {
  readonly stallsRetries = true;
  readonly counters = new Counters();
  readonly caps: SmmuCaps;
  readonly streamTable: StreamTable;
  readonly config = new ConfigCache();
  readonly tlb = new SmmuTlb();
  readonly walkCache = new WalkCache();
  trace: TraceSink | undefined;
  observer: SmmuObserver | undefined;
  private readonly cmdq: SmmuCmdq;
  /** Commands consumed with a command error (GERROR.CMDQ_ERR, CERROR_ILL) and skipped, oldest first. */
  readonly cmdqErrors: SmmuCmd[] = [];
  /** The event queue (sized by the topology's prqSize, rounded down to a power of two). */
  readonly evtq: EventQueue;
  /** Endpoints by StreamID: where ATC invalidations are delivered. */
  private readonly streams = new Map<number, PciDevice>();

  constructor(
    readonly name: string,
    private readonly mem: PhysMem,
    spec: Pick<IommuSpec, 'asidBits' | 'pasidBits' | 'rangeInv' | 'prqSize'>,
    sidBits = 16,
  ) {
    this.evtq = new EventQueue(prqEntries(spec));
    this.caps = { sidBits, ssidBits: spec.pasidBits, asidBits: spec.asidBits, vmidBits: 16, rangeInv: spec.rangeInv };
    this.streamTable = new StreamTable(name, sidBits, spec.pasidBits);
    this.cmdq = new SmmuCmdq(this.counters, (cmd) => this.execute(cmd));
  }

  /** Wire an endpoint to its StreamID (firmware's IORT mapping). Idempotent for the same device. */
  connect(dev: PciDevice): void {
    this.streamTable.checkSid(dev.sid);
    const had = this.streams.get(dev.sid);
    if (had !== undefined && had !== dev) throw new HwError(this.name, `SID ${dev.sid} already used by ${had.name}`);
    this.streams.set(dev.sid, dev);
  }

  /** Allocate a master's CD table (dma_alloc_coherent of a linear table or an L1 table). */
  allocCdTable(s1cdmax: number): CdTable {
    if (!Number.isInteger(s1cdmax) || s1cdmax < 0 || s1cdmax > this.caps.ssidBits) {
      throw new HwError(this.name, `S1CDMax ${s1cdmax} out of range [0, ${this.caps.ssidBits}]`);
    }
    return new CdTable(this.name, s1cdmax, this.caps.asidBits);
  }

  get pending(): readonly SmmuCmd[] {
    return this.cmdq.pending;
  }

  get syncTimeouts(): number {
    return this.cmdq.syncTimeouts;
  }

  get lastSyncTimedOut(): boolean {
    return this.cmdq.lastSyncTimedOut;
  }

  /** Submit one command; malformed ones throw HwError before anything is queued. */
  submit(cmd: SmmuCmd): SyncStatus {
    validateCmd(this.name, this.caps, cmd);
    if ((cmd.kind === 'ATC_INV' || cmd.kind === 'CMD_RESUME') && !this.streams.has(cmd.sid)) {
      throw new HwError(this.name, `${cmd.kind}: no endpoint on SID ${cmd.sid}`);
    }
    if (this.trace) this.trace.event('queue', this.name, formatCmd(cmd));
    this.observer?.onSubmit?.(this, cmd);
    const status = this.cmdq.submit(cmd);
    if (cmd.kind === 'CMD_SYNC') {
      if (this.trace) this.trace.event('queue', this.name, `CMD_SYNC ${status}`);
      this.observer?.onSync?.(this, status);
    }
    return status;
  }

  /**
   * STE → CD → TLB → deepest walk-cache hit → walk. A cached leaf that does not permit a write
   * FAULTS rather than re-walking: the Arm architecture lets a TLB hold entries that cause
   * Permission faults and signals the fault from the matching entry (Arm ARM D8 "TLB
   * maintenance", and e.g. Cortex-A76 TRM "Translation table walks": "If the matching entry
   * does not pass the permission checks, the MMU signals a Permission fault"); SMMUv3 follows
   * the same VMSA rules. Only Translation/Access-flag faulting walks are never cached. So a
   * permission upgrade the OS does not invalidate stays invisible to the device.
   */
  translate(dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation {
    const sid = dev.sid;
    let ste = this.config.ste(sid);
    if (ste === undefined) {
      this.counters.bump('ste.miss');
      ste = this.streamTable.fetch(sid);
      if (ste.v) this.config.fillSte(sid, ste);
      if (ste.v && this.trace) this.trace.event('cache', this.name, `STE cache fill sid ${sid}`);
    } else this.counters.bump('ste.hit');
    if (!ste.v || ste.config !== 's1' || ste.cdTable === undefined) return F_STREAM;
    // Untagged traffic (PASID 0) follows S1DSS; the harness has no identity-mapped DMA target,
    // so S1DSS bypass is reported as a stream abort like terminate.
    if (pasid === 0 && ste.s1dss !== 'ssid0') return F_STREAM;
    if (pasid >= 2 ** ste.s1cdmax) return F_NO_CD; // C_BAD_SUBSTREAMID
    let cd = this.config.cd(sid, pasid);
    if (cd === undefined) {
      this.counters.bump('cd.miss');
      cd = ste.cdTable.fetch(pasid);
      if (cd === undefined || !cd.v) return F_NO_CD;
      this.config.fillCd(sid, pasid, cd);
      if (this.trace) this.trace.event('cache', this.name, `CD cache fill sid ${sid} ssid ${pasid} (ASID ${cd.asid})`);
    } else this.counters.bump('cd.hit');
    if (cd.epd0) return F_EPD0;
    return this.walk(cd.asid, cd.ttb0, cd.levels, vpn, write);
  }

  /**
   * A recoverable fault of `dev`'s access: if the CD it used has S (stall) set, the transaction
   * is stalled and a stall event queued (STAG = the endpoint's tag); returns the CD's TTB0. A
   * CD without S (or a quiet, EPD0 one) terminates the access instead: undefined. A stall is
   * one transaction: there are no multi-request groups and no stalls without a substream here.
   */
  pageRequest(dev: PciDevice, pasid: number, vpn: number, write: boolean, stag: number, _last: boolean): PageRequestOutcome | undefined {
    if (pasid < 0) return undefined;
    const ste = this.config.ste(dev.sid) ?? this.streamTable.fetch(dev.sid);
    if (!ste.v || ste.config !== 's1' || ste.cdTable === undefined || pasid >= 2 ** ste.s1cdmax) return undefined;
    const cd = this.config.cd(dev.sid, pasid) ?? ste.cdTable.fetch(pasid);
    if (cd === undefined || !cd.v || cd.epd0 || !cd.s) return undefined;
    this.counters.bump('evtq.stall');
    this.evtq.stall({ sid: dev.sid, ssv: true, ssid: pasid, vpn, read: !write, stag });
    if (this.trace) this.trace.event('queue', this.name, `EVTQ stall: ${dev.name} ssid=${pasid} vpn=0x${vpn.toString(16)}${write ? ' w' : ' r'} stag=${stag}`);
    return { root: cd.ttb0, dropped: false };
  }

  /**
   * An untranslated access of `dev` ended in `reason` (no ATS: a Translation Request's fault is
   * answered in its completion, not recorded): the record the SMMU writes, if any. An invalid
   * STE, an SSID out of range and an invalid CD are configuration errors, always recorded; a
   * translation or permission fault is recorded when the CD has R and not S (with S the access
   * stalled instead, pageRequest's record); an abort or bypass STE records nothing. A full queue
   * discards the record and flags an overflow (EventQueue).
   */
  terminated(dev: PciDevice, pasid: number, vpn: number, write: boolean, reason: FaultReason): void {
    const id = this.terminatedId(dev.sid, pasid, reason);
    if (id === undefined) return;
    const ssv = pasid > 0;
    const kept = this.evtq.terminated({ id, sid: dev.sid, ssv, ssid: ssv ? pasid : 0, vpn, read: !write });
    this.counters.bump(kept ? 'evtq.terminated' : 'evtq.discarded');
    if (this.trace) this.trace.event('queue', this.name, `EVTQ ${id}: ${dev.name} ssid=${pasid} vpn=0x${vpn.toString(16)}${kept ? '' : ' discarded (queue full), overflow'}`);
  }

  /** Which record a terminated access leaves (the config the access used, read without counting). */
  private terminatedId(sid: number, pasid: number, reason: FaultReason): TerminatedEventId | undefined {
    const ste = this.config.ste(sid) ?? this.streamTable.fetch(sid);
    if (!ste.v) return 'C_BAD_STE';
    if (reason === 'stream-abort' || reason === 'no-pasid-cap' || ste.cdTable === undefined) return undefined;
    if (reason === 'no-pasid-entry') return pasid >= 2 ** ste.s1cdmax ? 'C_BAD_SUBSTREAMID' : 'C_BAD_CD';
    const cd = this.config.cd(sid, pasid) ?? ste.cdTable.fetch(pasid);
    if (cd === undefined || !cd.r || cd.s) return undefined;
    return reason === 'no-permission' ? 'F_PERMISSION' : 'F_TRANSLATION';
  }

  private walk(asid: number, ttb0: number, levels: number, vpn: number, write: boolean): Translation {
    const hit = this.tlb.lookup(asid, vpn);
    if (hit !== undefined) {
      this.counters.bump('tlb.hit');
      return write && !hit.write ? F_PERM : hit;
    }
    this.counters.bump('tlb.miss');
    let table = ttb0;
    let level = levels;
    for (let l = 1; l < levels; l++) {
      const t = this.walkCache.lookup(asid, l, levelPrefix(vpn, l));
      if (t !== undefined) {
        table = t;
        level = l;
        break;
      }
    }
    this.counters.bump(level < levels ? 'walk.hit' : 'walk.miss');
    // Non-leaf U is not checked: permission is decided at the leaf, and the walk cache keeps
    // the pointers above a supervisor leaf (why kernel page-table frees must flush it).
    for (; level > 1; level--) {
      const e = this.mem.hwEntry(table, levelIndex(vpn, level), this.name);
      if ((e & PTE_P) === 0) return F_NOT_PRESENT;
      table = pteFrame(e);
      this.walkCache.fill(asid, level - 1, levelPrefix(vpn, level - 1), table);
      if (this.trace) {
        this.trace.event('cache', this.name, `walk cache fill ASID ${asid} level ${level - 1} prefix 0x${levelPrefix(vpn, level - 1).toString(16)} → table ${table}`);
      }
    }
    const leaf = this.mem.hwEntry(table, levelIndex(vpn, 1), this.name);
    if ((leaf & PTE_P) === 0) return F_NOT_PRESENT;
    if ((leaf & PTE_U) === 0) return F_PERM;
    const entry: TlbEntry = { ok: true, frame: pteFrame(leaf), write: (leaf & PTE_W) !== 0 };
    this.tlb.fill(asid, vpn, entry);
    if (this.trace) this.trace.event('cache', this.name, `TLB fill ASID ${asid} vpn 0x${vpn.toString(16)} → frame ${entry.frame}${entry.write ? ' rw' : ' r'}`);
    return write && !entry.write ? F_PERM : entry;
  }

  /**
   * CERROR_ILL at consumption (IHI0070 §7.1): a range TLBI naming a granule this SMMU does not
   * implement (16K/64K; only 4K here) invalidates nothing. The SMMU stops with GERROR.CMDQ_ERR
   * and the driver's arm_smmu_gerror_handler → arm_smmu_cmdq_skip_err overwrites the entry
   * with a CMD_SYNC ("skipping command in error") and lets the queue run on, so the issuer's
   * own sync still completes: the invalidation is silently lost. The architecture allows an
   * SMMU to drop such a TLBI without the error, too; either way no entry goes.
   */
  private cerrorIll(cmd: SmmuCmd): void {
    this.cmdqErrors.push(cmd);
    this.counters.bump('cmdq.cerror_ill');
    if (this.trace) this.trace.event('queue', this.name, `CMDQ error CERROR_ILL, skipped: ${formatCmd(cmd)}`);
  }

  /** A command taking effect; with a timeline recorded, what it evicted becomes an event. */
  private execute(cmd: SmmuCmd): boolean {
    if (this.trace === undefined || cmd.kind === 'CMD_SYNC' || cmd.kind === 'CMD_RESUME') return this.apply(cmd);
    const dev = cmd.kind === 'ATC_INV' ? this.streams.get(cmd.sid) : undefined;
    const before = smmuCacheLines(this, dev);
    const r = this.apply(cmd);
    const after = new Set(smmuCacheLines(this, dev));
    const evicted = before.filter((l) => !after.has(l));
    this.trace.event('cache', this.name, `apply ${cmd.kind}: ${evicted.length === 0 ? 'evicts nothing' : `evicts ${evicted.join('; ')}`}`);
    return r;
  }

  /** One command's effect, at the CMD_SYNC that completes it. */
  private apply(cmd: SmmuCmd): boolean {
    // A plain switch with a `never` default instead of ts-pattern: measured hot path (every
    // command a CMD_SYNC completes; the match builder allocated on each one).
    switch (cmd.kind) {
      case 'CFGI_STE':
        this.config.invalidateSte(cmd.sid);
        return true;
      case 'CFGI_CD':
        this.config.invalidateCd(cmd.sid, cmd.ssid);
        return true;
      case 'TLBI_NH_ASID':
        this.tlb.invalidateAsid(cmd.asid);
        this.walkCache.invalidateAsid(cmd.asid);
        return true;
      case 'TLBI_NH_VA': {
        if (cmd.tg > TLBI_TG_4K) {
          this.cerrorIll(cmd);
          return true;
        }
        const pages = Math.min(tlbiPages(cmd), VPN_LIMIT - cmd.addr);
        this.tlb.invalidateRange(cmd.asid, cmd.addr, pages);
        if (!cmd.leaf) this.walkCache.invalidateRange(cmd.asid, cmd.addr, pages);
        return true;
      }
      case 'TLBI_S2_IPA':
        // No STE here selects stage 2 (config 's1', 'bypass' or 'abort' only), so nothing is
        // ever cached under a stage-2 translation: the command has nothing to evict.
        if (cmd.tg > TLBI_TG_4K) this.cerrorIll(cmd);
        return true;
      case 'TLBI_NH_ALL':
      case 'TLBI_S12_VMALL':
        // Stage-1-only STEs tag their entries with VMID 0 (STE.S2VMID is 0 in every STE the
        // kernel writes for them): only VMID 0 names the cached stage-1 entries. Stage-2
        // entries are never cached here (see TLBI_S2_IPA), so S12_VMALL drops no more.
        if (cmd.vmid === 0) {
          this.tlb.invalidateAll();
          this.walkCache.invalidateAll();
        }
        return true;
      case 'ATC_INV': {
        const dev = this.streams.get(cmd.sid)!;
        if (dev.disconnected) return false;
        dev.atcInvalidate(cmd.ssv ? cmd.ssid : undefined, cmd.addr, cmd.size === ATC_INV_SIZE_ALL ? Infinity : 2 ** cmd.size);
        return true;
      }
      case 'CMD_SYNC':
        return true;
      case 'CMD_RESUME':
        this.streams.get(cmd.sid)!.pageResponse(undefined, cmd.stag, cmd.retry ? 'success' : 'invalid');
        return true;
      default: {
        const never: never = cmd;
        throw new Error(`apply: unknown command ${JSON.stringify(never)}`);
      }
    }
  }
}
