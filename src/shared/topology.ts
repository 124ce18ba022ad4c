import { MAX_KPAGES, MAX_MMS, MAX_PAGES } from './layout.js';

export type Platform = 'vtd' | 'smmuv3' | 'amd';
export const PLATFORMS: readonly Platform[] = ['vtd', 'smmuv3', 'amd'];

/** The CPU each platform's IOMMU sits beside: VT-d and AMD-Vi in x86 machines, SMMUv3 in arm64 ones. */
export const PLATFORM_CPU: Readonly<Record<Platform, 'x86' | 'arm64'>> = Object.freeze({ vtd: 'x86', smmuv3: 'arm64', amd: 'x86' });

/** One PCIe endpoint. Global id = its index in `Topology.devices`. */
export interface DeviceSpec {
  /** Index into `Topology.iommus`: the IOMMU this device sits behind. */
  readonly iommu: number;
  /** Devices with the same group number share an iommu_group (and its pasid_array). */
  readonly group: number;
  /** PCIe PASID capability width; 0 = no PASID (max_pasids = 0). */
  readonly pasidBits: number;
  /** ATS enabled: the device caches translations in its ATC. */
  readonly ats: boolean;
  /** PRI enabled: a miss sends a page request instead of failing (see the IOPF issue). */
  readonly pri: boolean;
}

/** One IOMMU instance: a VT-d DMAR unit or an SMMUv3. Fields a platform does not use are ignored. */
export interface IommuSpec {
  /** VT-d: PASID width supported by the unit (ecap PSS + 1). SMMUv3: SSID bits. AMD: PASmax + 1. */
  readonly pasidBits: number;
  /** VT-d: domain-id bits (cap ND). AMD: bits of the global protection-domain ID space (pdom_ids). */
  readonly didBits: number;
  /** SMMUv3: ASID bits (8 or 16; tiny values make exhaustion reachable). */
  readonly asidBits: number;
  /** SMMUv3: RANGE_INV (range TLBI) supported. */
  readonly rangeInv: boolean;
  /**
   * The fault ring's entries: VT-d page request queue (PQA_REG.PQS), AMD PPR log, SMMUv3 event
   * queue (rounded down to a power of two); absent = PRQ_DEFAULT_ENTRIES. Tiny values make overflow reachable.
   */
  readonly prqSize?: number;
}

export interface Topology {
  readonly platform: Platform;
  readonly iommus: readonly IommuSpec[];
  readonly devices: readonly DeviceSpec[];
  /** mm slots 0..mms-1. */
  readonly mms: number;
  /** user pages 0..pages-1 of each mm. */
  readonly pages: number;
  /** kernel vmalloc pages 0..kpages-1, shared by every mm. */
  readonly kpages: number;
  /** CPU paging levels: 4 (48-bit VA) or 5 (57-bit VA, LA57). */
  readonly ptLevels: 4 | 5;
}

const iommu = (over: Partial<IommuSpec> = {}): IommuSpec => ({
  pasidBits: 20, didBits: 16, asidBits: 16, rangeInv: true, ...over,
});
const dev = (i: number, iommuIdx: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu: iommuIdx, group: i, pasidBits: 20, ats: true, pri: false, ...over,
});

/** The default topology of each platform: two IOMMUs, ATS and non-ATS devices, small PASID space. */
export const defaultTopology = (platform: Platform): Topology => ({
  platform,
  iommus: [iommu({ pasidBits: 4, asidBits: 4 }), iommu({ pasidBits: 4, asidBits: 4, rangeInv: false })],
  devices: [dev(0, 0), dev(1, 0, { ats: false }), dev(2, 1), dev(3, 1, { pasidBits: 3 })],
  mms: 3,
  pages: 6,
  kpages: 2,
  ptLevels: 4,
});

/** The seed thread's setup: four ATS devices behind one VT-d IOMMU. */
export const seedThreadTopology = (iommus = 1): Topology => ({
  platform: 'vtd',
  iommus: Array.from({ length: iommus }, () => iommu()),
  devices: Array.from({ length: 4 * iommus }, (_, i) => dev(i, Math.floor(i / 4))),
  mms: 2,
  pages: 4,
  kpages: 1,
  ptLevels: 4,
});

/** Checks a topology's ranges; returns a one-line reason, or undefined when it is valid. */
export const topologyError = (t: Topology): string | undefined => {
  const int = (v: unknown, lo: number, hi: number): boolean =>
    typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
  if (!PLATFORMS.includes(t.platform)) return `unknown platform '${String(t.platform)}'`;
  if (!int(t.iommus.length, 1, 4)) return 'iommus: between 1 and 4 IOMMUs';
  if (!int(t.devices.length, 1, 16)) return 'devices: between 1 and 16 devices';
  if (!int(t.mms, 1, MAX_MMS)) return `mms: between 1 and ${MAX_MMS}`;
  if (!int(t.pages, 1, MAX_PAGES)) return `pages: between 1 and ${MAX_PAGES}`;
  if (!int(t.kpages, 0, MAX_KPAGES)) return `kpages: between 0 and ${MAX_KPAGES}`;
  if (t.ptLevels !== 4 && t.ptLevels !== 5) return 'ptLevels: 4 or 5';
  for (const [i, u] of t.iommus.entries()) {
    if (!int(u.pasidBits, 1, 20)) return `iommu ${i}: pasidBits between 1 and 20`;
    if (!int(u.didBits, 4, 16)) return `iommu ${i}: didBits between 4 and 16`;
    if (!int(u.asidBits, 1, 16)) return `iommu ${i}: asidBits between 1 and 16`;
    if (typeof u.rangeInv !== 'boolean') return `iommu ${i}: rangeInv must be a boolean`;
    if (u.prqSize !== undefined && !int(u.prqSize, 1, 64)) return `iommu ${i}: prqSize between 1 and 64`;
    // AMD: PASmax ≤ 15 with GLXSup two-level GCR3 tables; the identity domain and every device's
    // GCR3 table take a protection-domain ID at boot.
    if (t.platform === 'amd' && u.pasidBits > 16) return `iommu ${i}: pasidBits at most 16 on AMD (PASmax 15)`;
    if (t.platform === 'amd' && 2 ** u.didBits - 1 < t.devices.length + 2) return `iommu ${i}: didBits too small for ${t.devices.length} devices on AMD`;
  }
  for (const [i, d] of t.devices.entries()) {
    if (!int(d.iommu, 0, t.iommus.length - 1)) return `device ${i}: iommu ${d.iommu} out of range`;
    if (!int(d.group, 0, 63)) return `device ${i}: group between 0 and 63`;
    if (!int(d.pasidBits, 0, 20)) return `device ${i}: pasidBits between 0 and 20`;
    if (typeof d.ats !== 'boolean' || typeof d.pri !== 'boolean') return `device ${i}: ats and pri must be booleans`;
    const peer = t.devices.find((o) => o.group === d.group && o.iommu !== d.iommu);
    if (peer) return `device ${i}: group ${d.group} spans two IOMMUs`;
  }
  return undefined;
};
