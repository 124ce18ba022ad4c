import type { Platform } from './topology.js';

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
  /** Hardware fault-queue overflows the driver found (VT-d PRO, SMMUv3 EVTQ PROD.OVFLG, AMD PPROverflow). */
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

/**
 * Which counts a platform has: `true`, or why the count cannot be met there (the summary prints
 * `n/a` instead of a 0 that would read as "not reached"). The reasons are the v7.0-rc5 drivers'
 * and the architectures' (docs: src/impl/smmuv3/evtq.ts, src/impl/amd/ppr.ts).
 */
export const IOPF_COUNT_APPLIES: Readonly<Record<Platform, Readonly<Record<keyof IopfCounts, true | string>>>> = {
  vtd: { multiGroups: true, overflows: true, drainsWithQueued: true, noHandler: true, disablesWithoutPri: true },
  smmuv3: {
    multiGroups: 'a stall is one transaction: arm_smmu_handle_event sets LAST_PAGE on every stall event',
    // Only discarded records overflow (IHI0070 7.4): terminated-transaction faults, never stalls.
    overflows: true,
    drainsWithQueued: 'mainline drains no event queue at a PASID detach (finding smmuv3-detach-no-iopf-flush)',
    noHandler: 'a stall is recorded only at an SSID whose CD has S set, which only an attached SVA domain writes; one outliving its detach is finding smmuv3-detach-no-iopf-flush',
    disablesWithoutPri: true,
  },
  amd: {
    multiGroups: true,
    overflows: true,
    drainsWithQueued: 'mainline drains no PPR log at a PASID removal (finding amd-remove-pasid-no-iopf-flush); detach_device flushes the IOPF workqueue only',
    noHandler: 'a PASID request reaches the IOPF core only while its SVA domain is attached (one outliving the removal is finding amd-remove-pasid-no-iopf-flush); PASID-less groups, which ppr.c answers FAILURE itself, are not generated on AMD (prgDevices)',
    disablesWithoutPri: 'detach_device takes a device off the IOPF queue only when dev_data->ppr is set, which only a PRI-enabled device gets',
  },
};

/** Whether `platform` has count `k` (IOPF_COUNT_APPLIES). */
export const iopfCountApplies = (platform: Platform, k: keyof IopfCounts): boolean => IOPF_COUNT_APPLIES[platform][k] === true;

export const zeroIopfCounts = (): IopfCounts => ({ multiGroups: 0, overflows: 0, drainsWithQueued: 0, noHandler: 0, disablesWithoutPri: 0 });

/**
 * Page request queue entries of an IOMMU whose topology gives none: more than its devices can
 * have outstanding. The same field sizes each platform's fault ring: the VT-d PRQ, the AMD PPR
 * log, the SMMUv3 event queue (rounded down to a power of two there: EVENTQ_BASE.LOG2SIZE).
 */
export const PRQ_DEFAULT_ENTRIES = 64;

/** The page request queue size of an IOMMU of the topology. */
export const prqEntries = (iommu: { readonly prqSize?: number }): number => iommu.prqSize ?? PRQ_DEFAULT_ENTRIES;

/** Page requests a device may send in one Page Request Group here (each holds a credit). */
export const PRG_MAX_REQUESTS = PRI_CREDITS;
