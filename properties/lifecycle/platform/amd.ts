/**
 * AMD reads for the lifecycle invariants, after drivers/iommu/amd/pasid.c and iommu.c
 * (v6.19-rc): an SVA attachment is a pdom_dev_data on the protection domain and a valid GCR3
 * entry (guest CR3 = the mm's pgd) in the device's GCR3 table. AMD's release differs from the
 * other two drivers: sva_mn_release clears every GCR3 entry of the domain and frees its
 * pdom_dev_data, so after exit the attachment survives only in the group's pasid_array.
 * Domain IDs come from the global pdom_ids (also the identity domain's and each device's GCR3
 * table's); an SVA domain's ID is reported where SMMUv3 reports its ASID.
 */
import type { Device, IommuDomain, World } from '../../../src/impl/index.js';
import { didPasidKey } from '../../../src/hw/vtd/iotlb.js';
import { pdom_id_allocated, pdom_id_count, pdom_ids } from '../../../src/impl/amd/pdomIds.js';
import { dev_iommu_priv_get, to_pdomain } from '../../../src/impl/amd/structs.js';
import { attachedTo } from '../scan.js';
import type { LifecyclePlatform } from './types.js';

const gcr3At = (dev: Device, pasid: number) => dev_iommu_priv_get(dev).gcr3_info.gcr3_tbl?.fetch(pasid);

export const amdLifecycle: LifecyclePlatform = Object.freeze({
  hasEntry(dev: Device, pasid: number): boolean {
    return gcr3At(dev, pasid)?.valid === true;
  },
  entryProblem(dev: Device, pasid: number, domain: IommuDomain): string | undefined {
    const mm = domain.mm;
    const e = gcr3At(dev, pasid);
    if (mm === undefined) return 'SVA domain without an mm';
    if (mm.exited) return e?.valid === true ? 'GCR3 entry still valid after sva_mn_release' : undefined;
    if (e === undefined || !e.valid) return 'GCR3 entry not valid';
    if (e.cr3 !== mm.pgd.pgd) return `GCR3 entry ${e.cr3} is not mm${mm.slot}'s pgd ${mm.pgd.pgd}`;
    return undefined;
  },
  listed(domain: IommuDomain, dev: Device, pasid: number): number {
    const dev_data = dev_iommu_priv_get(dev);
    let n = 0;
    for (const p of to_pdomain(domain).dev_data_list) if (p.dev_data === dev_data && p.pasid === pasid) n++;
    return n;
  },
  releaseUnlists: true,
  firstUnattached(domain: IommuDomain): { dev: Device; pasid: number } | undefined {
    for (const p of to_pdomain(domain).dev_data_list) if (!attachedTo(p.dev_data.dev, p.pasid, domain)) return { dev: p.dev_data.dev, pasid: p.pasid };
    return undefined;
  },
  bookkeepingProblem(domain: IommuDomain): string | undefined {
    const pdom = to_pdomain(domain);
    if (pdom.dev_list.length > 0) return `${pdom.dev_list.length} RID attachments on an SVA domain`;
    for (const p of pdom.dev_data_list) {
      if (p.dev_data.gcr3_info.gcr3_tbl === undefined) return `${p.dev_data.dev.hw.name} PASID ${p.pasid} listed without a GCR3 table`;
    }
    if (!pdom_id_allocated(domain.mm!.kernel, pdom.id)) return `domain ID ${pdom.id} is not allocated in pdom_ids`;
    return undefined;
  },
  domainInstance: (): number | undefined => undefined,
  asid: (domain: IommuDomain): number => to_pdomain(domain).id,
  asids: (world: World): number[] => pdom_ids(world.kernel),
  asidsAre(world: World, want: ReadonlySet<number>): boolean {
    if (pdom_id_count(world.kernel) !== want.size) return false;
    for (const id of want) if (!pdom_id_allocated(world.kernel, id)) return false;
    return true;
  },
  driverFreed: (domain: IommuDomain): boolean => to_pdomain(domain).freed,
  // The leak hook covers GCR3 entries; the IDs left over must be the boot-time ones.
  quiescenceLeaks(world: World): string[] {
    const boot = 1 + world.devices.filter((d) => dev_iommu_priv_get(d).gcr3_info.gcr3_tbl !== undefined).length;
    const ids = pdom_ids(world.kernel);
    return ids.length > boot ? [`${ids.length - boot} protection-domain IDs beyond the boot-time ones still allocated`] : [];
  },
  footprint(world: World, out: string[]): void {
    // GCR3 table levels are left out: the driver keeps them for the table's life, as VT-d its
    // PASID-table leaves. A failed domain alloc or notifier register must give its ID back.
    out.push(`pdom_ids ${pdom_ids(world.kernel).join(',')}`);
    for (const domain of world.core.live.domains) {
      // Concatenated in a loop (the line of a map/join): this runs before every bind.
      let line = 'domain ' + domain.id + ' dev_data_list ';
      let sep = '';
      for (const p of to_pdomain(domain).dev_data_list) {
        line += sep + p.dev_data.dev.id + ':' + p.pasid;
        sep = ',';
      }
      out.push(line);
    }
    for (const dev of world.devices) {
      const dev_data = dev_iommu_priv_get(dev);
      out.push(`${dev.hw.name} pasid_cnt ${dev_data.gcr3_info.pasid_cnt} ppr ${dev_data.ppr ? 'on' : 'off'}`);
    }
  },
  entriesAt(world: World, pasid: number, out: string[]): void {
    for (const dev of world.devices) {
      const dev_data = dev_iommu_priv_get(dev);
      if (gcr3At(dev, pasid)?.valid === true) out.push(`${dev.hw.name} GCR3 entry ${pasid} valid`);
      const unit = dev_data.iommu.unit;
      if (unit.gcr3Cache.has(didPasidKey(dev_data.gcr3_info.domid, pasid))) out.push(`${unit.name} GCR3 cache ${dev_data.gcr3_info.domid}:${pasid}`);
    }
  },
});
