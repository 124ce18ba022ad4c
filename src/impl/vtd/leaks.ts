/**
 * The VT-d driver's leak check (no kernel counterpart; src/impl/quiesce.ts asks for it): every
 * PASID-table entry, dev_pasid and cache tag must be accounted for by an SVA or paging domain that is
 * still attached through a group's pasid_array (the IOMMU_NO_PASID entry: the group's RID domain,
 * on the device's list), and no invalidation may be left half done.
 */
import type { Device, IommuDevice, IommuDomain } from '../core/types.js';
import { type DmarDomain, IOMMU_NO_PASID, type IntelIommu, dev_iommu_priv_get, to_dmar_domain } from './dmar.js';

/** The live SVA or paging domain the group has at (dev, pasid), if any. */
const attached = (dev: Device, pasid: number): IommuDomain | undefined => {
  const e = dev.group.pasid_array.get(pasid);
  const domain = e === undefined ? undefined : e.kind === 'handle' ? e.handle.domain : e.kind === 'domain' ? e.domain : undefined;
  return domain !== undefined && domain.type !== 'BLOCKED' && !domain.freed ? domain : undefined;
};

/**
 * Tags a domain should have for its dev_pasids, keyed like cache_tage_match, with users; a nest
 * parent also holds a NESTING pair per dev_pasid of each nested domain over it, with that
 * domain's DID.
 */
const expectedTags = (dmar: DmarDomain): Map<string, number> => {
  const want = new Map<string, number>();
  const add = (k: string): void => void want.set(k, (want.get(k) ?? 0) + 1);
  for (const { dev, pasid } of attachments(dmar)) {
    const info = dev_iommu_priv_get(dev);
    add(`IOTLB ${info.iommu.name} pasid=${pasid}`);
    if (info.ats_enabled) add(`DEVTLB ${dev.hw.name} pasid=${pasid}`);
  }
  for (const s1 of dmar.s1_domains ?? []) {
    for (const { dev, pasid } of attachments(s1)) {
      const info = dev_iommu_priv_get(dev);
      const did = s1.iommu_array?.get(info.iommu)?.did ?? 0;
      add(`NESTING_IOTLB ${info.iommu.name} pasid=${pasid} did=${did}`);
      if (info.ats_enabled) add(`NESTING_DEVTLB ${dev.hw.name} pasid=${pasid} did=${did}`);
    }
  }
  return want;
};

/** Where the domain is attached: its dev_pasids, and IOMMU_NO_PASID of each device on its list (the RID). */
const attachments = (dmar: DmarDomain): { dev: Device; pasid: number }[] =>
  [...dmar.dev_pasids, ...dmar.devices.map((info) => ({ dev: info.dev, pasid: IOMMU_NO_PASID }))];

const tagKey = (t: DmarDomain['cache_tags'][number]): string => {
  switch (t.type) {
    case 'IOTLB': return `IOTLB ${t.iommu.name} pasid=${t.pasid}`;
    case 'DEVTLB': return `DEVTLB ${t.dev!.hw.name} pasid=${t.pasid}`;
    case 'NESTING_IOTLB': return `NESTING_IOTLB ${t.iommu.name} pasid=${t.pasid} did=${t.domain_id}`;
    case 'NESTING_DEVTLB': return `NESTING_DEVTLB ${t.dev!.hw.name} pasid=${t.pasid} did=${t.domain_id}`;
    default: {
      const never: never = t.type;
      throw new Error(`tagKey: ${String(never)}`);
    }
  }
};

export function intel_leak_check(iommus: readonly IommuDevice[], devices: readonly Device[]): string[] {
  const out: string[] = [];
  const domains = new Set<DmarDomain>();
  for (const dev of devices) {
    const table = dev_iommu_priv_get(dev).pasid_table;
    for (const { pasid, entry } of table?.entries() ?? []) {
      // The RID's entry belongs to the device's RID domain (dmar_domain_attach_device).
      const info = dev_iommu_priv_get(dev);
      if (pasid === IOMMU_NO_PASID && info.domain !== undefined && info.domain.devices.includes(info) && dev.group.domain === info.domain.domain) {
        domains.add(info.domain);
        continue;
      }
      const domain = attached(dev, pasid);
      const dmar = domain === undefined ? undefined : to_dmar_domain(domain);
      if (dmar === undefined || !dmar.dev_pasids.some((p) => p.dev === dev && p.pasid === pasid)) {
        out.push(`${dev.hw.name} PASID ${pasid}: ${entry.present ? 'present' : 'FPD'} entry without an attached domain`);
      }
      if (dmar !== undefined) domains.add(dmar);
    }
  }
  for (const dmar of domains) {
    const want = expectedTags(dmar);
    const have = new Map<string, number>();
    for (const t of dmar.cache_tags) {
      have.set(tagKey(t), t.users);
    }
    for (const [k, n] of have) if (want.get(k) !== n) out.push(`domain ${dmar.domain.id}: tag ${k} has ${n} users, ${want.get(k) ?? 0} expected`);
    for (const k of want.keys()) if (!have.has(k)) out.push(`domain ${dmar.domain.id}: tag ${k} missing`);
    for (const { dev, pasid } of dmar.dev_pasids) {
      if (attached(dev, pasid) !== dmar.domain) out.push(`domain ${dmar.domain.id}: dev_pasid ${dev.hw.name}/${pasid} not attached`);
    }
  }
  for (const i of iommus) {
    const unit = (i as IntelIommu).unit;
    if (unit.queue.pendingCount > 0) out.push(`${unit.name}: ${unit.queue.pendingCount} invalidation descriptors never completed`);
    if (unit.ite) out.push(`${unit.name}: invalidation time-out (ITE) still set`);
  }
  return out;
}
