import { PRG_INDEX_LIMIT, type PageResponseCode } from '../shared/index.js';

export { PRG_INDEX_LIMIT };

/**
 * One page request the endpoint sent and holds a credit for until its group's response
 * arrives. `pasid` -1: sent without a PASID, on the RID.
 */
export interface OutstandingRequest {
  readonly pasid: number;
  readonly vpn: number;
  readonly write: boolean;
  /** Page Request Group index (SMMU stall: the STAG), unique among the endpoint's outstanding requests. */
  readonly prgi: number;
  /** The table root the IOMMU walked when it turned the miss into a request (VT-d FLPTR, SMMU TTB0). */
  readonly root: number;
  /** Last request of its group (LAST / LPIG). */
  readonly last: boolean;
  /**
   * Marked stale when the function stopped the PASID with a Stop Marker: the group's response
   * still returns the credit and the PRG index, and is otherwise ignored (no retry).
   */
  readonly stale?: true;
  /** The IOMMU discarded it without an answer (harness bookkeeping; the endpoint cannot tell). */
  readonly lost?: true;
  /** Sent at a PASID the device was never given: not bound to that mm (harness bookkeeping, as `lost`). */
  readonly unbound?: true;
}

/** What happened to a request once answered: a retried access (its token) or a given-up one. */
export interface PriCompletion {
  readonly pasid: number;
  readonly vpn: number;
  readonly write: boolean;
  readonly code: PageResponseCode;
  readonly ok: boolean;
  /** Content token the retried access reached; -1 when it did not complete. */
  readonly token: number;
  readonly root: number;
}

/** Completions kept between two probe rewinds at most (bounds memory when no probe runs). */
const LOG_LIMIT = 256;

/**
 * The PRI side of an endpoint: the outstanding requests (each holds one of `credits`), the
 * retried accesses completed since the log was last rewound, and every response that matched
 * no outstanding request: a protocol error the hardware records rather than ignores.
 */
export class PriEndpoint {
  readonly outstanding: OutstandingRequest[] = [];
  readonly completions: PriCompletion[] = [];
  readonly protocolErrors: string[] = [];
  responses = 0;
  /**
   * PRI Status Response Failure: a Response Failure answer is catastrophic (PCIe r6.0
   * 10.4.2.1): the function's Page Request Interface is disabled and sends no more requests.
   */
  responseFailure = false;

  constructor(readonly credits: number) {}

  /** The PRG index of `pasid`'s open group (requests sent, LAST not yet), or -1. */
  openPrgi(pasid: number): number {
    for (const r of this.outstanding) {
      if (r.pasid === pasid && !this.outstanding.some((o) => o.pasid === pasid && o.prgi === r.prgi && o.last)) return r.prgi;
    }
    return -1;
  }

  /** The function stops using `pasid`: its open groups are abandoned (their credits return, no answer is awaited). */
  abandon(pasid: number): void {
    let kept = 0;
    for (const r of this.outstanding) {
      const open = r.pasid === pasid && !this.outstanding.some((o) => o.pasid === pasid && o.prgi === r.prgi && o.last);
      if (!open) this.outstanding[kept++] = r;
    }
    this.outstanding.length = kept;
  }

  /**
   * The function stops using `pasid` with a Stop Marker (PCIe 10.4.1.2, step 3): every
   * outstanding request of the PASID is marked stale. It keeps its credit and PRG index until
   * its group's response returns them.
   */
  markStale(pasid: number): void {
    for (let i = 0; i < this.outstanding.length; i++) {
      const r = this.outstanding[i]!;
      if (r.pasid === pasid && r.stale === undefined) this.outstanding[i] = { ...r, stale: true };
    }
  }

  /** The lowest PRG index no outstanding request uses. */
  allocPrgi(): number {
    for (let i = 0; i < PRG_INDEX_LIMIT; i++) if (!this.outstanding.some((r) => r.prgi === i)) return i;
    return -1;
  }

  /**
   * Take every request of the group a response names, in send order; `pasid` undefined matches
   * on the index alone (CMD_RESUME), -1 the requests sent without a PASID.
   */
  takeGroup(pasid: number | undefined, prgi: number): OutstandingRequest[] {
    const out: OutstandingRequest[] = [];
    let kept = 0;
    for (const r of this.outstanding) {
      if (r.prgi === prgi && (pasid === undefined || r.pasid === pasid)) out.push(r);
      else this.outstanding[kept++] = r;
    }
    this.outstanding.length = kept;
    return out;
  }

  record(c: PriCompletion): void {
    if (this.completions.length >= LOG_LIMIT) this.completions.splice(0, this.completions.length - LOG_LIMIT + 1);
    this.completions.push(c);
  }
}
