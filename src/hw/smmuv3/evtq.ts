/**
 * The SMMUv3 event queue (IHI0070 §3.5, §7.4): a ring of 2^LOG2SIZE records the SMMU writes
 * (PROD) and software consumes (CONS). Two kinds of record matter here: the fault record of a
 * stalled transaction (a recoverable fault: software resumes it with CMD_RESUME), and the fault
 * record of a terminated transaction or a configuration error (only logged).
 *
 * §7.4: "A configuration error record or fault record from a terminated transaction is
 * discarded when the SMMU attempts to insert it into a full Event queue. However, a fault record
 * from a stalled transaction is not discarded and an event is reported for the stalled
 * transaction when the queue is next writable. [...] stall fault records do not cause an
 * overflow condition. Only discarded events cause overflow." The overflow condition is
 * PROD.OVFLG != CONS.OVACKFLG; the SMMU toggles OVFLG when it discards a record and the
 * condition is not already present; software acknowledges by writing OVACKFLG = OVFLG.
 */

import { PRQ_DEFAULT_ENTRIES } from '../../shared/index.js';

/** An event-queue record of a stalled transaction (the fields arm_smmu_decode_event reads). */
export interface StallEvent {
  readonly sid: number;
  readonly ssv: boolean;
  readonly ssid: number;
  readonly vpn: number;
  /** RnW: the access was a read. */
  readonly read: boolean;
  readonly stag: number;
}

/** The event ids of terminated transactions the model records (IHI0070 §7.3). */
export type TerminatedEventId = 'C_BAD_STE' | 'C_BAD_SUBSTREAMID' | 'C_BAD_CD' | 'F_TRANSLATION' | 'F_PERMISSION';

/** A record of a terminated transaction or a configuration error: logged, nothing to resume. */
export interface TerminatedEvent {
  readonly id: TerminatedEventId;
  readonly sid: number;
  readonly ssv: boolean;
  readonly ssid: number;
  readonly vpn: number;
  readonly read: boolean;
}

/** A queue record as software reads it. */
export type EvtqRecord = ({ readonly stall: true } & StallEvent) | ({ readonly stall: false } & TerminatedEvent);

/** 1 << LOG2SIZE: the largest power of two not above `entries` (queue sizes are powers of two). */
export const evtqEntries = (entries: number): number => 2 ** Math.floor(Math.log2(Math.max(1, entries)));

export class EventQueue {
  readonly size: number;
  private readonly ring: EvtqRecord[] = [];
  /** Stall records the SMMU holds back while the queue is full (written when it is next writable). */
  private readonly held: StallEvent[] = [];
  /** SMMU_EVENTQ_PROD.OVFLG. */
  ovflg = false;
  /** SMMU_EVENTQ_CONS.OVACKFLG. */
  ovackflg = false;
  /** Records discarded so far (harness bookkeeping). */
  discarded = 0;

  constructor(entries: number = PRQ_DEFAULT_ENTRIES) {
    this.size = evtqEntries(entries);
  }

  /** Hardware: record a stalled transaction; never lost (held until the queue is writable). */
  stall(e: StallEvent): void {
    if (this.ring.length >= this.size || this.held.length > 0) this.held.push(e);
    else this.ring.push({ stall: true, ...e });
  }

  /** Hardware: record a terminated transaction; false when the queue was full and it was discarded. */
  terminated(e: TerminatedEvent): boolean {
    if (this.ring.length >= this.size) {
      this.discarded++;
      if (this.ovflg === this.ovackflg) this.ovflg = !this.ovflg;
      return false;
    }
    this.ring.push({ stall: false, ...e });
    return true;
  }

  /** Software: queue_remove_raw: the record at CONS, CONS moved past it (then held stalls go in). */
  remove(): EvtqRecord | undefined {
    const e = this.ring.shift();
    while (this.held.length > 0 && this.ring.length < this.size) this.ring.push({ stall: true, ...this.held.shift()! });
    return e;
  }

  /** The overflow condition (OVFLG != OVACKFLG). */
  get overflowed(): boolean {
    return this.ovflg !== this.ovackflg;
  }

  /** Records between CONS and PROD, oldest first. */
  get records(): readonly EvtqRecord[] {
    return this.ring;
  }

  /** Stall records not yet resumed by software reading them: queued, then held back. */
  get stalls(): StallEvent[] {
    const out: StallEvent[] = [];
    for (const r of this.ring) if (r.stall) out.push(stallOf(r));
    out.push(...this.held);
    return out;
  }

  /** Stall records queued or held (no allocation: the per-step fast path). */
  get length(): number {
    let n = this.held.length;
    for (const r of this.ring) if (r.stall) n++;
    return n;
  }

  [Symbol.iterator](): Iterator<StallEvent> {
    return this.stalls[Symbol.iterator]();
  }
}

/** The StallEvent fields of a stall record. */
export const stallOf = (r: StallEvent): StallEvent => ({ sid: r.sid, ssv: r.ssv, ssid: r.ssid, vpn: r.vpn, read: r.read, stag: r.stag });
