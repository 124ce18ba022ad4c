/** One page request as the device sent it (PCIe PRI Page Request Message). */
export interface PageRequest {
  readonly sid: number;
  readonly pasid: number;
  readonly vpn: number;
  readonly write: boolean;
  /** Last request of its page request group: needs a page response. */
  readonly lpig: boolean;
  /** Page Request Group index. */
  readonly prgi: number;
}

/**
 * The page request queue (PRQ) of a VT-d unit: a ring that hardware appends to (tail) and
 * software consumes (head). The unit appends a descriptor for each page request a PRI device
 * sends through a context entry with PRE set; prq_event_thread consumes them.
 */
export class PageRequestQueue {
  private readonly ring: PageRequest[] = [];
  /** DMA_PRS_PRO: the ring overflowed and requests were dropped. */
  overflow = false;

  /** Hardware: a page request arrives. */
  append(req: PageRequest): void {
    this.ring.push(req);
  }

  /** Requests between head and tail, oldest first. */
  get pending(): readonly PageRequest[] {
    return this.ring;
  }

  /** Whether a pending request comes from (sid, pasid): what the drain waits on. */
  hasPending(sid: number, pasid: number): boolean {
    return this.ring.some((r) => r.sid === sid && r.pasid === pasid);
  }

  /** Software: advance the head over everything read (prq_event_thread's PQH write). */
  consumeAll(): PageRequest[] {
    return this.ring.splice(0, this.ring.length);
  }
}
