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

/** Entries kept before the ring overflows (PPR_LOG_SIZE_512 / EVT_BUFFER_SIZE in entries). */
export const LOG_ENTRIES = 512;

/** A hardware log ring: bounded; an append to a full ring sets the overflow flag and is lost. */
export class LogRing<T> {
  private readonly ring: T[] = [];
  overflow = false;

  append(e: T): boolean {
    if (this.ring.length >= LOG_ENTRIES) {
      this.overflow = true;
      return false;
    }
    this.ring.push(e);
    return true;
  }

  /** Entries between head and tail, oldest first. */
  get pending(): readonly T[] {
    return this.ring;
  }

  /** Software: read everything and move the head to the tail. */
  consumeAll(): T[] {
    return this.ring.splice(0, this.ring.length);
  }
}
