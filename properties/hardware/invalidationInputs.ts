/**
 * What the kernel objects asked of each secondary-TLB invalidation, read by the probe at the
 * notifier call (InvalidateObserver.before), before any driver callback runs. The cost (I12),
 * range (I14) and ordering (I7) rules compute an invalidation's expected commands from this
 * snapshot rather than from the world after the step: later in the same step, an unbind whose
 * page-request drain serviced a write fault (and so invalidated) may remove the very cache tags
 * or free the very domains the invalidation was sent for.
 *
 * Struct of arrays indexed by i * U + u (invalidation i, unit u; U = number of units), grown
 * with the probe's slices: a step without invalidations writes and allocates nothing.
 */
import { match } from 'ts-pattern';
import type { ArmSmmuDomain } from '../../src/impl/smmuv3/structs.js';
import type { ProtectionDomain } from '../../src/impl/amd/structs.js';
import { dev_iommu_priv_get, type DmarDomain } from '../../src/impl/vtd/dmar.js';
import { QI_MAX_BATCHED_DESC_COUNT } from '../../src/impl/vtd/cache.js';
import type { MmStruct } from '../../src/impl/index.js';
import type { Platform } from '../../src/shared/index.js';

const grow = (a: Int32Array, size: number): Int32Array => {
  if (size <= a.length) return a;
  const b = new Int32Array(Math.max(size, a.length * 2));
  b.set(a);
  return b;
};

export class InvalidationInputs {
  /** VT-d: IOTLB cache tags of the mm's SVA domains on unit u (one per (IOMMU, PASID)). AMD: pdom_dev_data behind unit u. */
  iotlbTags: Int32Array;
  /** VT-d: DEVTLB cache tags of those domains on unit u (one per ATS device and PASID). AMD: those of ATS devices. */
  devtlbTags: Int32Array;
  /** VT-d: of those, the tags whose device has dtlb_extra_inval (errata: invalidated twice). */
  devtlbExtra: Int32Array;
  /**
   * VT-d: waits those descriptors take: each domain flushes through its own qi_batch (one wait
   * per QI_MAX_BATCHED_DESC_COUNT), so an mm with two SVA domains (after a failed attach of
   * the first) pays one per domain.
   */
  batches: Int32Array;
  /** SMMUv3: the mm's domains on SMMU u. */
  domains: Int32Array;
  /** SMMUv3: cd.asid of the last of them in notifier order, -1 when there is none. */
  asid: Int32Array;
  /** SMMUv3: streams of the ATS-enabled masters over those domains' master_domains. */
  atsStreams: Int32Array;
  /**
   * SMMUv3: those domains whose ATC batch arm_smmu_atc_inv_domain submits (each costs a second
   * CMD_SYNC): any with such a stream, and one whose nr_ats_masters is already raised for a
   * master whose ATS is not yet on. That is the attach window between arm_smmu_attach_prepare's
   * atomic_inc and arm_smmu_enable_ats, which the C orders that way on purpose (the smp_mb()
   * diagram): the gate is the count, so the batch goes out empty, one CMD_SYNC alone. The
   * count's agreement with the ATS master_domains outside that window is the consistency
   * rule's (lifecycle/platform/smmuv3.ts), so following it here excuses no leak.
   */
  atsDomains: Int32Array;
  /** SMMUv3, per invalidation: the ASIDs of all of the mm's domains are asids[asidFrom[i], asidFrom[i + 1]). */
  asids: Int32Array;
  asidFrom: Int32Array;
  /** Record invalidation i's inputs for every unit (the platform's half, chosen once). */
  readonly capture: (mm: MmStruct, i: number) => void;

  /** Scratch: one domain's descriptors per unit. */
  private readonly perDomain: Int32Array;

  constructor(platform: Platform, private readonly units: number) {
    this.perDomain = new Int32Array(units);
    const cap = 4 * units;
    this.iotlbTags = new Int32Array(cap);
    this.devtlbTags = new Int32Array(cap);
    this.devtlbExtra = new Int32Array(cap);
    this.batches = new Int32Array(cap);
    this.domains = new Int32Array(cap);
    this.asid = new Int32Array(cap);
    this.atsStreams = new Int32Array(cap);
    this.atsDomains = new Int32Array(cap);
    this.asids = new Int32Array(16);
    this.asidFrom = new Int32Array(5);
    this.capture = match(platform)
      .with('vtd', () => (mm: MmStruct, i: number) => this.captureVtd(mm, i))
      .with('smmuv3', () => (mm: MmStruct, i: number) => this.captureSmmu(mm, i))
      .with('amd', () => (mm: MmStruct, i: number) => this.captureAmd(mm, i))
      .exhaustive();
  }

  /** Room for invalidations 0..i on every unit. */
  reserve(i: number): void {
    const size = (i + 1) * this.units;
    if (size <= this.iotlbTags.length) return;
    this.iotlbTags = grow(this.iotlbTags, size);
    this.devtlbTags = grow(this.devtlbTags, size);
    this.devtlbExtra = grow(this.devtlbExtra, size);
    this.batches = grow(this.batches, size);
    this.domains = grow(this.domains, size);
    this.asid = grow(this.asid, size);
    this.atsStreams = grow(this.atsStreams, size);
    this.atsDomains = grow(this.atsDomains, size);
    this.asidFrom = grow(this.asidFrom, i + 2);
  }

  /** Whether `asid` belonged to one of the mm's domains when invalidation i was called. */
  ownsAsid(i: number, asid: number): boolean {
    for (let k = this.asidFrom[i]!; k < this.asidFrom[i + 1]!; k++) if (this.asids[k] === asid) return true;
    return false;
  }

  private captureVtd(mm: MmStruct, i: number): void {
    const base = i * this.units;
    this.iotlbTags.fill(0, base, base + this.units);
    this.devtlbTags.fill(0, base, base + this.units);
    this.devtlbExtra.fill(0, base, base + this.units);
    this.batches.fill(0, base, base + this.units);
    for (const sub of mm.notifiers) {
      const descs = this.perDomain;
      descs.fill(0);
      for (const tag of (sub.container as DmarDomain).cache_tags) {
        const u = tag.iommu.index;
        const at = base + u;
        if (tag.type === 'IOTLB') this.iotlbTags[at]!++;
        else if (tag.dev!.hw.disconnected && tag.iommu.kernel.fixes.has('vtd-drain-devtlb-absent')) {
          // The complete fix of vtd-drain-devtlb-absent sends a removed device nothing
          // (cache_tag_flush_devtlb_psi); mainline still sends it one, as counted below.
          continue;
        } else {
          this.devtlbTags[at]!++;
          descs[u]!++;
          if (dev_iommu_priv_get(tag.dev!).dtlb_extra_inval) {
            this.devtlbExtra[at]!++;
            descs[u]!++;
          }
        }
        if (tag.type === 'IOTLB') descs[u]!++;
      }
      for (let u = 0; u < this.units; u++) this.batches[base + u]! += Math.ceil(descs[u]! / QI_MAX_BATCHED_DESC_COUNT);
    }
  }

  private captureAmd(mm: MmStruct, i: number): void {
    const base = i * this.units;
    this.iotlbTags.fill(0, base, base + this.units);
    this.devtlbTags.fill(0, base, base + this.units);
    this.devtlbExtra.fill(0, base, base + this.units);
    for (const sub of mm.notifiers) {
      for (const p of (sub.container as ProtectionDomain).dev_data_list) {
        const at = base + p.dev_data.iommu.index;
        this.iotlbTags[at]!++;
        if (p.dev_data.ats_enabled) this.devtlbTags[at]!++;
      }
    }
  }

  private captureSmmu(mm: MmStruct, i: number): void {
    const base = i * this.units;
    this.domains.fill(0, base, base + this.units);
    this.asid.fill(-1, base, base + this.units);
    this.atsStreams.fill(0, base, base + this.units);
    this.atsDomains.fill(0, base, base + this.units);
    let a = this.asidFrom[i]!;
    this.asids = grow(this.asids, a + mm.notifiers.length);
    for (const sub of mm.notifiers) {
      const d = sub.container as ArmSmmuDomain;
      const at = base + d.smmu.index;
      this.asids[a++] = d.cd.asid;
      this.domains[at]!++;
      this.asid[at] = d.cd.asid;
      let streams = 0;
      for (const md of d.devices) if (md.master.ats_enabled) streams += md.master.streams.length;
      this.atsStreams[at]! += streams;
      if (streams > 0 || d.nr_ats_masters > 0) this.atsDomains[at]!++;
    }
    this.asidFrom[i + 1] = a;
  }
}
