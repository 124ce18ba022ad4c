/**
 * What the lifecycle invariants need to know about a platform driver's private structures,
 * behind one interface so each invariant file stays platform-neutral. One implementation per
 * driver (vtd.ts, smmuv3.ts, amd.ts); index.ts picks it from the topology. Every method only reads.
 */
import type { Device, IommuDomain, World } from '../../../src/impl/index.js';

export interface LifecyclePlatform {
  /** Whether the driver-written PASID entry / CD at (dev, pasid) is in use (present, FPD, or V). */
  hasEntry(dev: Device, pasid: number): boolean;
  /**
   * Why the entry at (dev, pasid) is not the one `domain` must have there, or undefined when it
   * is: the live form while the mm is alive, the quiet (fault-suppressing) form once it exited.
   */
  entryProblem(dev: Device, pasid: number, domain: IommuDomain): string | undefined;
  /** How many times the domain's device list (dev_pasids / master_domains) holds (dev, pasid). */
  listed(domain: IommuDomain, dev: Device, pasid: number): number;
  /** The notifier's release takes the exited mm's attachments off the device list (AMD). */
  readonly releaseUnlists?: boolean;
  /** entryProblem and listed also read iommufd paging domains' entries (SMMUv3's CD and master_domain). */
  readonly checksPaging?: boolean;
  /**
   * The first (dev, pasid) of the domain's device list that its group's pasid_array does not
   * attach to the domain, or undefined when every one is attached.
   */
  firstUnattached(domain: IommuDomain): { readonly dev: Device; readonly pasid: number } | undefined;
  /**
   * Why the domain's invalidation bookkeeping (cache tags; nr_ats_masters and the ASID xarray)
   * disagrees with its device list, or undefined.
   */
  bookkeepingProblem(domain: IommuDomain): string | undefined;
  /** The IOMMU instance the domain is tied to (SMMUv3), or undefined when it spans them (VT-d). */
  domainInstance(domain: IommuDomain): number | undefined;
  /** The domain's ASID (SMMUv3 cd.asid), 0 where the platform has none. */
  asid(domain: IommuDomain): number;
  /** arm_smmu_asid_xa's allocated ASIDs, ascending (empty on VT-d). */
  asids(world: World): number[];
  /**
   * Whether the allocated ASIDs are exactly `want` (REF's per-step fast path: a count and a
   * lookup per ASID, where `asids` copies and sorts).
   */
  asidsAre(world: World, want: ReadonlySet<number>): boolean;
  /** Whether the driver already kfree'd the domain's memory (free_notifier ran). */
  driverFreed(domain: IommuDomain): boolean;
  /** Driver state the core's leak check does not cover, once nothing is bound. */
  quiescenceLeaks(world: World): string[];
  /**
   * I-FAIL: the driver's objects and refcounts a call may create or raise, one line each, in
   * a fixed order (per live domain its device list and invalidation bookkeeping; per device
   * its IOPF references and what it caches), for a before/after comparison.
   */
  footprint(world: World, out: string[]): void;
  /** I-FAIL: the non-empty hardware entries at `pasid` (memory and cached), one line each. */
  entriesAt(world: World, pasid: number, out: string[]): void;
}
