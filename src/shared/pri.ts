/**
 * PCIe Page Request Interface facts the spec and the emulated devices share. A PRI endpoint
 * has a fixed allocation of outstanding page requests (the PRI capability's Outstanding Page
 * Request Allocation); the harness keeps it tiny so that running out is reachable.
 */
export const PRI_CREDITS = 2;

/** How a page request was answered (Page Request Group Response codes, PCIe 10.4.2.1). */
export type PageResponseCode = 'success' | 'invalid' | 'failure';
