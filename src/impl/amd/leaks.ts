/**
 * The AMD driver's leak hook (no kernel counterpart; src/impl/quiesce.ts): driver state that
 * no live SVA domain accounts for. Reads only.
 */
import { coreOf } from '../core/kernel.js';
import type { Device, IommuDevice } from '../core/types.js';
import { pci_dev_refs } from '../pciRefs.js';
import { dev_iommu_priv_get, to_pdomain, type AmdIommu } from './structs.js';

export function amd_iommu_leak_check(iommus: readonly IommuDevice[], devices: readonly Device[]): string[] {
  const out: string[] = [];
  const live = new Set<number>();
  const kernel = (iommus[0] as AmdIommu | undefined)?.kernel;
  if (kernel !== undefined) for (const d of coreOf(kernel).live.domains) for (const p of to_pdomain(d).dev_data_list) live.add(p.dev_data.devid * 2 ** 20 + p.pasid);
  for (const dev of devices) {
    const held = pci_dev_refs(dev);
    if (held > 0) out.push(`${dev.hw.name}: ${held} pci_dev references taken by lookups and never put`);
    const dev_data = dev_iommu_priv_get(dev);
    const tbl = dev_data.gcr3_info.gcr3_tbl;
    if (tbl === undefined) continue;
    let valid = 0;
    for (const { pasid } of tbl.entries()) {
      valid++;
      if (!live.has(dev_data.devid * 2 ** 20 + pasid)) out.push(`${dev.hw.name}: GCR3 entry for PASID ${pasid} valid with no live SVA domain attached there`);
    }
    if (dev_data.gcr3_info.pasid_cnt !== valid) out.push(`${dev.hw.name}: gcr3_info.pasid_cnt ${dev_data.gcr3_info.pasid_cnt}, ${valid} valid GCR3 entries`);
  }
  return out;
}
