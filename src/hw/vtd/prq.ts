import { PRQ_DEFAULT_ENTRIES } from '../../shared/index.js';

/** One page request as the device sent it (PCIe PRI Page Request Message, VT-d page_req_dsc). */
export interface PageRequest {
  readonly sid: number;
  /** PASID Present: false for a request on the RID (then `pasid` is 0). */
  readonly pasidPresent: boolean;
  readonly pasid: number;
  readonly vpn: number;
  /**
   * Read Requested (rd_req). Absent: set, as every page request here asks read access; only a
   * Stop Marker has it clear.
   */
  readonly read?: boolean;
  readonly write: boolean;
  /** Last request of its page request group: needs a page response (unless it is a Stop Marker: R = W = 0). */
  readonly lpig: boolean;
  /** Page Request Group index. */
  readonly prgi: number;
}

/** PCIe: a Page Request Message with L = 1 and R = W = 0 is a Stop Marker, not a page request. */
export const isStopMarker = (req: PageRequest): boolean => req.lpig && req.read === false && !req.write;

/**
 * The page request queue (PRQ) of a VT-d unit: a ring of `size` descriptors that hardware
 * appends to (tail) and software consumes (head). The unit appends a descriptor for each page
 * request a PRI device sends through a context entry with PRE set; prq_event_thread consumes
 * them. A request that finds the ring full is not recorded: the unit sets PRO (VT-d 3.x §7.5,
 * as we read it; the unit's own Success answer to a dropped LAST is in PciDevice.sendGroup).
 */
export class PageRequestQueue {
  private readonly ring: PageRequest[] = [];
  /** DMA_PRS_PRO: the ring overflowed and requests were dropped; software clears it (RW1C). */
  overflow = false;

  constructor(readonly size: number = PRQ_DEFAULT_ENTRIES) {}

  /** Hardware: a page request arrives; false when the ring was full and it was dropped (PRO set). */
  append(req: PageRequest): boolean {
    if (this.ring.length >= this.size) {
      this.overflow = true;
      return false;
    }
    this.ring.push(req);
    return true;
  }

  /**
   * Hardware: a Stop Marker arrives. It takes a ring slot like a page request; a full ring drops
   * it silently, PRO untouched (ecap SMS = 1: "If remapping hardware is unable to write a Stop
   * Marker Message into the Page Request Queue (due to the queue being full ...), it will
   * silently drop the Stop Marker Message"). False when dropped.
   */
  appendStopMarker(req: PageRequest): boolean {
    if (this.ring.length >= this.size) return false;
    this.ring.push(req);
    return true;
  }

  /** Requests between head and tail, oldest first. */
  get pending(): readonly PageRequest[] {
    return this.ring;
  }

  /**
   * Whether a pending request comes from (sid, pasid): what the drain waits on. The RID is
   * PASID 0 (IOMMU_NO_PASID): it matches the requests without a PASID. A Stop Marker matches
   * like any descriptor (the drain compares rid and PASID only).
   */
  hasPending(sid: number, pasid: number): boolean {
    return this.ring.some((r) => r.sid === sid && (r.pasidPresent ? r.pasid === pasid : pasid === 0));
  }

  /** Software: advance the head over everything read (prq_event_thread's PQH write). */
  consumeAll(): PageRequest[] {
    return this.ring.splice(0, this.ring.length);
  }

  /**
   * Software: advance the head over the first `n` requests (PQH = the tail read `n` requests
   * ago: prq_event_thread writes back the tail it read, so requests that arrived since stay).
   */
  advance(n: number): void {
    this.ring.splice(0, n);
  }
}
