/**
 * PCIe Page Request Interface facts the spec and the emulated devices share. A PRI endpoint
 * has a fixed allocation of outstanding page requests (the PRI capability's Outstanding Page
 * Request Allocation); the harness keeps it tiny so that running out is reachable.
 */
export const PRI_CREDITS = 2;

/** PRG indexes are 9 bits (PCIe Page Request Message). */
export const PRG_INDEX_LIMIT = 512;

/** How a page request was answered (Page Request Group Response codes, PCIe 10.4.2.1). */
export type PageResponseCode = 'success' | 'invalid' | 'failure';

/** How often a run met each part of the I/O page-fault protocol (run statistics). */
export interface IopfCounts {
  /** Groups of more than one request handed to a fault handler. */
  multiGroups: number;
  /** Hardware fault-queue overflows the driver found (VT-d PRO). */
  overflows: number;
  /** PRQ drains that began with requests still in the hardware queue. */
  drainsWithQueued: number;
  /** Requests reported with no fault handler at their PASID or RID. */
  noHandler: number;
  /** IOPF disables on a device without PRI (on SMMUv3: a detach from a master that cannot stall). */
  disablesWithoutPri: number;
}

export const IOPF_COUNT_NAMES: Readonly<Record<keyof IopfCounts, string>> = {
  multiGroups: 'multi-request groups',
  overflows: 'overflows',
  drainsWithQueued: 'drains with requests queued',
  noHandler: 'no-handler requests',
  disablesWithoutPri: 'IOPF disables without PRI',
};

export const zeroIopfCounts = (): IopfCounts => ({ multiGroups: 0, overflows: 0, drainsWithQueued: 0, noHandler: 0, disablesWithoutPri: 0 });

/** Page request queue entries of an IOMMU whose topology gives none: more than its devices can have outstanding. */
export const PRQ_DEFAULT_ENTRIES = 64;

/** The page request queue size of an IOMMU of the topology. */
export const prqEntries = (iommu: { readonly prqSize?: number }): number => iommu.prqSize ?? PRQ_DEFAULT_ENTRIES;

/** Page requests a device may send in one Page Request Group here (each holds a credit). */
export const PRG_MAX_REQUESTS = PRI_CREDITS;
