/**
 * SMMUv3 reads for the lifecycle invariants, after arm-smmu-v3.c / arm-smmu-v3-sva.c (v6.17):
 * an SVA attachment is a master_domain {master, ssid} on the arm_smmu_domain (which belongs to
 * one SMMU and owns a private ASID in arm_smmu_asid_xa) plus a CD at the SSID: V, TTB0 = pgd,
 * EPD0 clear, the domain's ASID. After arm_smmu_mm_release the CD stays valid with EPD0 set and
 * R clear (the quiet CD).
 */
import type { Device, IommuDomain, World } from '../../../src/impl/index.js';
import { IOMMU_NO_PASID, dev_iommu_priv_get, to_smmu_domain, type ArmSmmuDevice } from '../../../src/impl/smmuv3/structs.js';
import { attachedTo } from '../scan.js';
import type { LifecyclePlatform } from './types.js';

const cdAt = (dev: Device, ssid: number) => dev_iommu_priv_get(dev).cd_table.table?.fetch(ssid);

function bookkeepingProblem(domain: IommuDomain): string | undefined {
  const d = to_smmu_domain(domain);
  let ats = 0;
  for (const md of d.devices) {
    if (md.domain !== d) return `master_domain ${md.master.dev.hw.name}/${md.ssid} links another domain`;
    if (md.master.smmu !== d.smmu) return `${md.master.dev.hw.name} is behind ${md.master.smmu.unit.name}, the domain belongs to ${d.smmu.unit.name}`;
    if (md.master.ats_enabled) ats++;
  }
  if (ats !== d.nr_ats_masters) return `nr_ats_masters ${d.nr_ats_masters}, ${ats} ATS master_domains`;
  // A stage-2 domain has a VMID instead (arm_smmu_domain_finalise_s2).
  if (!domain.freed && d.stage !== 'S2' && d.smmu.asid_xa.xa_load(d.cd.asid) !== d) return `ASID ${d.cd.asid} is not this domain's in arm_smmu_asid_xa`;
  return undefined;
}

/** A domain an iommufd HWPT slot holds (allocated on first attach, kept for the world's life). */
const isHwptDomain = (world: World, domain: IommuDomain | undefined): boolean =>
  domain !== undefined && !domain.freed && world.hwpts.some((h) => h.domain === domain);

/**
 * A paging domain's CD (arm_smmu_make_s1_cd): valid, walking TTB0 = the domain's io-pgtable
 * root with its depth, tagged with the domain's ASID.
 */
function pagingCdProblem(dev: Device, pasid: number, domain: IommuDomain): string | undefined {
  const d = to_smmu_domain(domain);
  const cd = cdAt(dev, pasid);
  if (cd === undefined || !cd.v) return 'CD not valid';
  if (cd.asid !== d.cd.asid) return `CD ASID ${cd.asid}, the paging domain's is ${d.cd.asid}`;
  if (cd.epd0) return 'EPD0 set on a paging domain\'s CD';
  const pt = d.pgtbl;
  if (pt === undefined || cd.ttb0 !== pt.radix.root || cd.levels !== pt.levels) return `TTB0 ${cd.ttb0} is not the paging domain's table root ${pt?.radix.root}`;
  return undefined;
}

export const smmuv3Lifecycle: LifecyclePlatform = Object.freeze({
  checksPaging: true,
  hasEntry(dev: Device, pasid: number): boolean {
    return cdAt(dev, pasid)?.v === true;
  },
  entryProblem(dev: Device, pasid: number, domain: IommuDomain): string | undefined {
    if (domain.type === 'PAGING') return pagingCdProblem(dev, pasid, domain);
    const mm = domain.mm;
    const cd = cdAt(dev, pasid);
    if (mm === undefined || cd === undefined || !cd.v) return 'CD not valid';
    const asid = to_smmu_domain(domain).cd.asid;
    if (cd.asid !== asid) return `CD ASID ${cd.asid}, the domain's is ${asid}`;
    if (mm.exited) return cd.epd0 && !cd.r ? undefined : 'CD is not the quiet form (EPD0, R clear) after mm release';
    if (cd.epd0) return 'EPD0 set on a live mm';
    if (cd.ttb0 !== mm.pgd.pgd || cd.levels !== mm.pgd.levels) return `TTB0 ${cd.ttb0} is not mm${mm.slot}'s pgd ${mm.pgd.pgd}`;
    return undefined;
  },
  listed(domain: IommuDomain, dev: Device, pasid: number): number {
    let n = 0;
    for (const md of to_smmu_domain(domain).devices) if (md.master.dev === dev && md.ssid === pasid) n++;
    return n;
  },
  firstUnattached(domain: IommuDomain): { dev: Device; pasid: number } | undefined {
    for (const md of to_smmu_domain(domain).devices) if (!attachedTo(md.master.dev, md.ssid, domain)) return { dev: md.master.dev, pasid: md.ssid };
    return undefined;
  },
  bookkeepingProblem,
  domainInstance: (domain: IommuDomain): number => to_smmu_domain(domain).smmu.index,
  asid: (domain: IommuDomain): number => to_smmu_domain(domain).cd.asid,
  asids: (world: World): number[] => (world.iommus[0] as ArmSmmuDevice).asid_xa.indices(),
  asidsAre(world: World, want: ReadonlySet<number>): boolean {
    const xa = (world.iommus[0] as ArmSmmuDevice).asid_xa;
    if (xa.size !== want.size) return false;
    for (const a of want) if (xa.xa_load(a) === undefined) return false;
    return true;
  },
  driverFreed: (domain: IommuDomain): boolean => to_smmu_domain(domain).freed,
  // The SMMUv3 driver has no leakCheck hook, so findLeaks cannot see ASIDs or CDs.
  quiescenceLeaks(world: World): string[] {
    const out: string[] = [];
    const xa = (world.iommus[0] as ArmSmmuDevice).asid_xa;
    // An iommufd HWPT's stage-1 domain keeps its ASID and its attached PASIDs' CDs while it lives.
    for (const a of smmuv3Lifecycle.asids(world)) if (!isHwptDomain(world, xa.xa_load(a)?.domain)) out.push(`ASID ${a} still allocated in arm_smmu_asid_xa`);
    for (const dev of world.devices) {
      const cd = dev_iommu_priv_get(dev).cd_table;
      // HWPTs at a PASID hold an SSID each; one at the RID holds CD 0 instead (arm_smmu_attach_dev).
      let paging = 0;
      let rid = false;
      for (const h of world.hwpts) {
        const at = h.domain === undefined ? undefined : h.pasid.get(dev.group);
        if (at === IOMMU_NO_PASID) rid = true;
        else if (at !== undefined && dev.max_pasids > 0) paging++;
      }
      if (cd.used_ssids !== paging) out.push(`${dev.hw.name}: ${cd.used_ssids} SSIDs still in use (valid CDs), ${paging} of attached HWPTs`);
      if (!rid && cd.table !== undefined && cd.table.fetch(IOMMU_NO_PASID)?.v === true) out.push(`${dev.hw.name}: CD 0 valid`);
    }
    return out;
  },
  footprint(world: World, out: string[]): void {
    out.push(`asids ${smmuv3Lifecycle.asids(world).join(',')}`);
    for (const domain of world.core.live.domains) {
      const d = to_smmu_domain(domain);
      // Concatenated in a loop (the line of a map/join): this runs before every bind.
      let line = 'domain ' + domain.id + ' masters ';
      let sep = '';
      for (const md of d.devices) {
        line += sep + md.master.dev.id + ':' + md.ssid + (md.using_iopf ? '+iopf' : '');
        sep = ',';
      }
      out.push(line + ' ats ' + d.nr_ats_masters);
    }
    // CD tables and leaves stay allocated once made (freed only with the master): left out.
    for (const dev of world.devices) {
      const m = dev_iommu_priv_get(dev);
      out.push(`${dev.hw.name} ssids ${m.cd_table.used_ssids} iopf ${m.iopf_refcount} ats ${m.ats_enabled} ste ${m.cd_table.in_ste}/${m.ste_ats_enabled}`);
    }
  },
  entriesAt(world: World, pasid: number, out: string[]): void {
    for (const dev of world.devices) {
      const m = dev_iommu_priv_get(dev);
      if (pasid < 2 ** m.cd_table.s1cdmax && cdAt(dev, pasid)?.v === true) out.push(`${dev.hw.name} CD ${pasid} V`);
      for (const sid of m.streams) if (m.smmu.unit.config.cd(sid, pasid) !== undefined) out.push(`${m.smmu.unit.name} CD cache ${sid}:${pasid}`);
    }
  },
});
