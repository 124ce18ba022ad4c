import type { PageResponseCode } from '../shared/index.js';

/** PRG indexes are 9 bits (PCIe Page Request Message). */
export const PRG_INDEX_LIMIT = 512;

/** One page request the endpoint sent and holds a credit for until its response arrives. */
export interface OutstandingRequest {
  readonly pasid: number;
  readonly vpn: number;
  readonly write: boolean;
  /** Page Request Group index (SMMU stall: the STAG), unique among the endpoint's outstanding requests. */
  readonly prgi: number;
  /** The table root the IOMMU walked when it turned the miss into a request (VT-d FLPTR, SMMU TTB0). */
  readonly root: number;
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

  constructor(readonly credits: number) {}

  get hasCredit(): boolean {
    return this.outstanding.length < this.credits;
  }

  /** The lowest PRG index no outstanding request uses. */
  allocPrgi(): number {
    for (let i = 0; i < PRG_INDEX_LIMIT; i++) if (!this.outstanding.some((r) => r.prgi === i)) return i;
    return -1;
  }

  /** Take the request a response names; `pasid` undefined matches on the index alone (CMD_RESUME). */
  take(pasid: number | undefined, prgi: number): OutstandingRequest | undefined {
    const i = this.outstanding.findIndex((r) => r.prgi === prgi && (pasid === undefined || r.pasid === pasid));
    if (i < 0) return undefined;
    return this.outstanding.splice(i, 1)[0];
  }

  record(c: PriCompletion): void {
    if (this.completions.length >= LOG_LIMIT) this.completions.splice(0, this.completions.length - LOG_LIMIT + 1);
    this.completions.push(c);
  }
}
