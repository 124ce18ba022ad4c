import type { TraceSink } from '../shared/index.js';
import type { Counters } from './counters.js';
import type { PciDevice } from './device.js';

/** Why a translation failed, as the unit would report it in a fault record. */
export type FaultReason =
  | 'no-pasid-entry' // VT-d PASID entry / SMMU CD not present or not valid
  | 'fault-disabled' // VT-d FPD entry, SMMU CD with EPD0: blocked, no fault record
  | 'not-present' // a page-table level or the leaf is not present
  | 'no-permission' // write to a read-only leaf, or a user access to a supervisor leaf
  | 'stream-abort' // SMMU STE aborts, or the stream has no CD table
  | 'no-pasid-cap'; // the device cannot emit PASID-tagged requests

export type Translation =
  | { readonly ok: true; readonly frame: number; readonly write: boolean }
  | { readonly ok: false; readonly fault: FaultReason };

/**
 * What every emulated IOMMU (a VT-d DMAR unit, an SMMUv3) offers the device side. The unit
 * looks up its own caches (entry cache, IOTLB, paging-structure/walk cache), walks the CPU page
 * tables on a miss, and fills its caches as real hardware may.
 */
export interface IommuUnit {
  /** `vtd0`, `smmu1`: used in counters, anomalies and traces. */
  readonly name: string;
  readonly counters: Counters;
  /** Set when a timeline is recorded; the endpoints behind the unit report ATC fills into it. */
  readonly trace?: TraceSink | undefined;
  /** Translate a PASID-tagged request from `dev` (an untranslated DMA or an ATS request). */
  translate(dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation;
  /**
   * A PRI endpoint's page request (`pasid` -1: on the RID) becomes a recoverable fault (VT-d: a
   * descriptor in the page request queue; SMMUv3: a stalled transaction and its event):
   * returns the table root the request was made against (-1: none) and whether the queue was
   * full and dropped it, or undefined when the unit does not accept it (no PRE / no CD.S) and
   * the access fails as an ordinary fault.
   */
  pageRequest?(dev: PciDevice, pasid: number, vpn: number, write: boolean, prgi: number, last: boolean): PageRequestOutcome | undefined;
  /**
   * Whether the unit, not the endpoint, retries the access after a Success (SMMUv3: CMD_RESUME
   * with Retry resumes the stalled transaction, which is translated as if just received): a
   * recoverable fault of the retry then stalls it again, a new event. A PRI endpoint's own
   * retry (VT-d, AMD) that fails is over.
   */
  readonly stallsRetries?: boolean;
  /**
   * A PRI endpoint's Stop Marker on `pasid` (where the unit delivers them: VT-d writes them into
   * the PRQ): 'queued', 'dropped' (a full queue, silently), or undefined when the unit does not
   * accept page requests from the endpoint.
   */
  stopMarker?(dev: PciDevice, pasid: number): 'queued' | 'dropped' | undefined;
  /** An untranslated access (no ATS) ended in a fault the unit may record (SMMUv3: an event-queue record). */
  terminated?(dev: PciDevice, pasid: number, vpn: number, write: boolean, reason: FaultReason): void;
}

/** What became of a page request the unit accepted: the table root it was made against; dropped on a full queue. */
export interface PageRequestOutcome {
  readonly root: number;
  readonly dropped: boolean;
  /** Discarded with no answer from the unit (AMD PPR log overflow): the request waits for good. */
  readonly lost?: boolean;
}
