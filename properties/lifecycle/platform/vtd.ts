/**
 * VT-d reads for the lifecycle invariants, after drivers/iommu/intel/{svm,iommu,cache,pasid}.c
 * (v6.17): an SVA attachment is a dev_pasid on the dmar_domain, an IOTLB cache tag per
 * (IOMMU, PASID) shared by that IOMMU's devices plus a DEVTLB tag per ATS device, and a
 * first-level PASID entry (P, PGTT=FL, FLPTR = pgd, DID = FLPT_DEFAULT_DID). After
 * intel_mm_release the entry is cleared with FPD kept.
 */
import type { Device, IommuDomain, World } from '../../../src/impl/index.js';
import { dev_fault_param } from '../../../src/impl/core/iopf.js';
import type { CacheTag } from '../../../src/impl/vtd/cache.js';
import { FLPT_DEFAULT_DID, dev_iommu_priv_get, to_dmar_domain, type DevPasidInfo } from '../../../src/impl/vtd/dmar.js';
import { attachedTo } from '../scan.js';
import type { LifecyclePlatform } from './types.js';

const entryAt = (dev: Device, pasid: number) => dev_iommu_priv_get(dev).pasid_table?.fetch(pasid);

/** Tags of the domain matching (type, iommu or dev, pasid), as cache_tage_match keys them. */
const tagCount = (tags: readonly CacheTag[], type: CacheTag['type'], dev: Device, pasid: number): number => {
  const iommu = dev_iommu_priv_get(dev).iommu;
  let n = 0;
  for (const t of tags) {
    if (t.type === type && t.pasid === pasid && (type === 'IOTLB' ? t.iommu === iommu : t.dev === dev)) n++;
  }
  return n;
};

function bookkeepingProblem(domain: IommuDomain): string | undefined {
  const dmar = to_dmar_domain(domain);
  const tags = dmar.cache_tags;
  for (const { dev, pasid } of dmar.dev_pasids) {
    if (tagCount(tags, 'IOTLB', dev, pasid) !== 1) return `${dev.hw.name} PASID ${pasid}: ${tagCount(tags, 'IOTLB', dev, pasid)} IOTLB tags, 1 expected`;
    const devtlb = dev_iommu_priv_get(dev).ats_enabled ? 1 : 0;
    if (tagCount(tags, 'DEVTLB', dev, pasid) !== devtlb) return `${dev.hw.name} PASID ${pasid}: ${tagCount(tags, 'DEVTLB', dev, pasid)} DEVTLB tags, ${devtlb} expected`;
  }
  for (const t of tags) {
    if (t.domain_id !== FLPT_DEFAULT_DID) return `cache tag ${t.type} PASID ${t.pasid} has DID ${t.domain_id}, not FLPT_DEFAULT_DID`;
    // users = the dev_pasids this tag stands for: every device behind the IOMMU for IOTLB, one for DEVTLB.
    let users = 0;
    for (const p of dmar.dev_pasids) {
      if (p.pasid !== t.pasid) continue;
      if (t.type === 'IOTLB' ? dev_iommu_priv_get(p.dev).iommu === t.iommu : p.dev === t.dev) users++;
    }
    if (users !== t.users) return `cache tag ${t.type} ${t.iommu.name} PASID ${t.pasid}: users ${t.users}, ${users} dev_pasids`;
  }
  return undefined;
}

export const vtdLifecycle: LifecyclePlatform = Object.freeze({
  hasEntry(dev: Device, pasid: number): boolean {
    const e = entryAt(dev, pasid);
    return e !== undefined && (e.present || e.fpd);
  },
  entryProblem(dev: Device, pasid: number, domain: IommuDomain): string | undefined {
    const mm = domain.mm;
    const e = entryAt(dev, pasid);
    if (mm === undefined || e === undefined) return 'no PASID entry';
    if (mm.exited) return !e.present && e.fpd ? undefined : 'entry is not the FPD form after mm release';
    if (!e.present) return 'entry not present';
    if (e.pgtt !== 'FL') return `PGTT ${e.pgtt}, not first-level`;
    if (e.flptr !== mm.pgd.pgd) return `FLPTR ${e.flptr} is not mm${mm.slot}'s pgd ${mm.pgd.pgd}`;
    if (e.did !== FLPT_DEFAULT_DID) return `DID ${e.did}, not FLPT_DEFAULT_DID`;
    return undefined;
  },
  listed(domain: IommuDomain, dev: Device, pasid: number): number {
    let n = 0;
    for (const p of to_dmar_domain(domain).dev_pasids) if (p.dev === dev && p.pasid === pasid) n++;
    return n;
  },
  firstUnattached(domain: IommuDomain): DevPasidInfo | undefined {
    for (const p of to_dmar_domain(domain).dev_pasids) if (!attachedTo(p.dev, p.pasid, domain)) return p;
    return undefined;
  },
  bookkeepingProblem,
  domainInstance: (): number | undefined => undefined,
  asid: (): number => 0,
  asids: (): number[] => [],
  asidsAre: (_world: World, want: ReadonlySet<number>): boolean => want.size === 0,
  driverFreed: (domain: IommuDomain): boolean => to_dmar_domain(domain).freed,
  // intel_leak_check (through findLeaks) already covers entries, dev_pasids and tags.
  quiescenceLeaks: (): string[] => [],
  footprint(world: World, out: string[]): void {
    // The qi_batch is left out: domain_qi_batch_alloc keeps it for the domain's life.
    for (const domain of world.core.live.domains) {
      const dmar = to_dmar_domain(domain);
      // Concatenated in loops (the lines of a map/join): this runs before every bind.
      let line = 'domain ' + domain.id + ' dev_pasids ';
      let sep = '';
      for (const p of dmar.dev_pasids) {
        line += sep + p.dev.id + ':' + p.pasid;
        sep = ',';
      }
      out.push(line);
      line = 'domain ' + domain.id + ' tags ';
      sep = '';
      for (const t of dmar.cache_tags) {
        line += sep + t.type + ':' + t.iommu.name + ':' + t.pasid + ':' + (t.dev?.id ?? '-') + 'x' + t.users;
        sep = ',';
      }
      out.push(line);
    }
    for (const dev of world.devices) {
      const info = dev_iommu_priv_get(dev);
      out.push(`${dev.hw.name} iopf ${info.iopf_refcount} ${dev_fault_param(dev) === undefined ? 'off' : 'queued'}`);
    }
  },
  entriesAt(world: World, pasid: number, out: string[]): void {
    for (const dev of world.devices) {
      const info = dev_iommu_priv_get(dev);
      const e = info.pasid_table?.fetch(pasid);
      if (e !== undefined && (e.present || e.fpd)) out.push(`${dev.hw.name} PASID entry ${pasid} ${e.present ? 'P' : 'FPD'}`);
      const unit = info.iommu.unit;
      // A cached copy of a present entry is covered by the entry's own line (a page request's
      // retry during an unwind's PRQ drain refills it for a device still bound); only a copy of
      // an entry that is gone is residue.
      if (!e?.present && unit.pasidCache.lookup(info.sid, pasid) !== undefined) out.push(`${unit.name} PASID cache ${info.sid}:${pasid}`);
    }
  },
});
