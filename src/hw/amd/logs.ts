/**
 * The IOMMU-to-software rings (48882 §2.5 "Event Logging", §2.6 "Peripheral Page Service
 * Request Logging"): the hardware appends at the tail, the driver consumes from the head.
 */

/** A PPR log entry (PPR_REQ_FAULT): one PCIe Page Request as the IOMMU logged it. */
export interface PprEntry {
  readonly devid: number;
  readonly pasid: number;
  /** GN: the request carried a PASID (ppr_is_valid ignores GN = 0 requests). */
  readonly gn: boolean;
  readonly vpn: number;
  readonly write: boolean;
  /** PRG index (9 bits); bit 9 of the logged tag is "last request of the group". */
  readonly tag: number;
  readonly last: boolean;
}

/** Event log types the model produces (amd_iommu_types.h EVENT_TYPE_*). */
export type AmdEventType =
  /** An ATS invalidation the endpoint never completed (EVENT_TYPE_IOTLB_INV_TO). */
  | 'IOTLB_INV_TIMEOUT'
  /** A page request from a device whose DTE does not enable PPR (EVENT_TYPE_INV_PPR_REQ). */
  | 'INVALID_PPR_REQUEST';

export interface AmdEvent {
  readonly type: AmdEventType;
  readonly devid: number;
  readonly pasid: number;
}

/** Event log entries (EVT_BUFFER_SIZE in entries); the PPR log's size comes from the topology. */
export const LOG_ENTRIES = 512;

/**
 * A hardware log ring of `size` entries and its MMIO status bits (48882 §3.4.x, MMIO Offset
 * 2020h): `interrupt` (PPRInt / EventLogInt, RW1C) is set by every entry written; an entry that
 * finds the ring full is discarded and sets `overflow` (PPROverflow / EventOverflow, RW1C), and
 * logging stops (`running`, PPRLogRun / EventLogRun, clears): "No new PPR log entries are
 * written while this bit is set", nor while the log is stopped. Software resumes it by clearing
 * the overflow and writing PPRLogEn again (restart). A discarded page request is not answered:
 * the IOMMU has no automatic response unless PPR auto-response (PprAutoRspEn, which mainline
 * never sets) is enabled.
 */
export class LogRing<T> {
  private readonly ring: T[] = [];
  overflow = false;
  interrupt = false;
  running = true;

  constructor(readonly size: number = LOG_ENTRIES) {}

  /** Hardware: log `e`; false when it was discarded (ring full, or logging stopped). */
  append(e: T): boolean {
    if (!this.running || this.overflow) return false;
    if (this.ring.length >= this.size) {
      this.overflow = true;
      this.running = false;
      return false;
    }
    this.ring.push(e);
    this.interrupt = true;
    return true;
  }

  /** Logging is stopped by an overflow and not yet restarted: requests now are discarded. */
  get halted(): boolean {
    return this.overflow || !this.running;
  }

  /** Entries between head and tail, oldest first. */
  get pending(): readonly T[] {
    return this.ring;
  }

  /** Software: read everything and move the head to the tail. */
  consumeAll(): T[] {
    return this.ring.splice(0, this.ring.length);
  }

  /** Software: take the entry at the head and move the head past it (one MMIO head write). */
  shift(): T | undefined {
    return this.ring.shift();
  }

  /** Software: writel(mask, MMIO_STATUS_OFFSET) of the RW1C bits. */
  clearStatus(interrupt: boolean, overflow: boolean): void {
    if (interrupt) this.interrupt = false;
    if (overflow) this.overflow = false;
  }

  /** Software: iommu_feature_disable/enable of the log's LogEn: logging stops, then runs again. */
  setEnabled(on: boolean): void {
    this.running = on;
  }
}
