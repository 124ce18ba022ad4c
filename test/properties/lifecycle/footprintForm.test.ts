/**
 * I-FAIL's footprint is built with plain string concatenation (it runs before every bind, on
 * the hot path). These tests hold its lines to the map/join form it replaced, on random legal
 * states of every platform, so a failed bind's message stays byte-identical.
 */
import { describe, expect, test } from 'vitest';
import { failFootprint } from '../../../properties/lifecycle/failedCall.js';
import type { MmStruct, World } from '../../../src/impl/index.js';
import { dev_fault_param } from '../../../src/impl/core/iopf.js';
import { dev_iommu_priv_get as vtdInfo, to_dmar_domain } from '../../../src/impl/vtd/dmar.js';
import { dev_iommu_priv_get as smmuMaster, to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { dev_iommu_priv_get as amdDevData, to_pdomain } from '../../../src/impl/amd/structs.js';
import { pdom_ids } from '../../../src/impl/amd/pdomIds.js';
import { platformOf } from '../../../properties/lifecycle/platform/index.js';
import { PLATFORMS, pair, topology } from '../helpers.js';
import { nextLegal, rng } from '../randomCommands.js';

/** The footprint lines as the map/join implementation wrote them (reference). */
function reference(world: World): string[] {
  const { core } = world;
  const out: string[] = [];
  out.push(`domains ${[...core.live.domains].map((d) => `${d.id}x${d.users}`).join(',')}`);
  out.push(`handles ${[...core.live.handles].map((h) => `${h.id}x${h.users}`).join(',')}`);
  const deferred = new Map<MmStruct, number>();
  const hooked: number[] = [];
  for (const n of core.live.notifiers) {
    if (n.hooked) hooked.push(n.users);
    else deferred.set(n.mm, (deferred.get(n.mm) ?? 0) + 1);
  }
  out.push(`notifiers ${hooked.join(',')}`);
  out.push(`iommu_sva_mms ${core.sva.mms.map((m) => m.pasid).join(',')} present ${core.sva.present}`);
  out.push(`mm_count ${world.mms.map((mm) => (mm === undefined ? '-' : `${mm.mm_count - (deferred.get(mm) ?? 0)}`)).join(',')}`);
  for (const g of world.groups) out.push(`group ${g.id} pasid_array ${[...g.pasid_array].map(([p, e]) => `${p}:${e.kind}`).join(',')}`);
  switch (world.topology.platform) {
    case 'vtd':
      for (const domain of core.live.domains) {
        const dmar = to_dmar_domain(domain);
        out.push(`domain ${domain.id} dev_pasids ${dmar.dev_pasids.map((p) => `${p.dev.id}:${p.pasid}`).join(',')}`);
        out.push(`domain ${domain.id} tags ${dmar.cache_tags.map((t) => `${t.type}:${t.iommu.name}:${t.pasid}:${t.dev?.id ?? '-'}x${t.users}`).join(',')}`);
      }
      for (const dev of world.devices) out.push(`${dev.hw.name} iopf ${vtdInfo(dev).iopf_refcount} ${dev_fault_param(dev) === undefined ? 'off' : 'queued'}`);
      break;
    case 'smmuv3':
      out.push(`asids ${platformOf(world).asids(world).join(',')}`);
      for (const domain of core.live.domains) {
        const d = to_smmu_domain(domain);
        out.push(`domain ${domain.id} masters ${d.devices.map((md) => `${md.master.dev.id}:${md.ssid}${md.using_iopf ? '+iopf' : ''}`).join(',')} ats ${d.nr_ats_masters}`);
      }
      for (const dev of world.devices) {
        const m = smmuMaster(dev);
        out.push(`${dev.hw.name} ssids ${m.cd_table.used_ssids} iopf ${m.iopf_refcount} ats ${m.ats_enabled} ste ${m.cd_table.in_ste}/${m.ste_ats_enabled}`);
      }
      break;
    case 'amd':
      out.push(`pdom_ids ${pdom_ids(world.kernel).join(',')}`);
      for (const domain of core.live.domains) out.push(`domain ${domain.id} dev_data_list ${to_pdomain(domain).dev_data_list.map((p) => `${p.dev_data.dev.id}:${p.pasid}`).join(',')}`);
      for (const dev of world.devices) {
        const dd = amdDevData(dev);
        out.push(`${dev.hw.name} pasid_cnt ${dd.gcr3_info.pasid_cnt} ppr ${dd.ppr ? 'on' : 'off'}`);
      }
      break;
  }
  return out;
}

describe.each(PLATFORMS)('I-FAIL footprint lines on %s', (platform) => {
  test('equal the map/join form after every step of random legal sequences', () => {
    let compared = 0;
    let busyLines = 0;
    let iopfLines = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed * 7919);
      // Odd seeds: every device PRI-capable, so the IOPF parts of the lines (SMMUv3 '+iopf',
      // VT-d 'queued', AMD 'ppr on') are reached too.
      const t = topology(platform);
      const p = pair(seed % 2 === 0 ? t : { ...t, devices: t.devices.map((d) => ({ ...d, pri: d.pasidBits > 0 })) });
      for (let i = 0; i < 80; i++) {
        p.run(nextLegal(p.spec, r));
        const want = reference(p.world);
        for (let slot = 0; slot < p.world.mms.length; slot++) expect(failFootprint(p.world, slot).objects).toEqual(want);
        compared++;
        if (want.some((l) => /^domain \d+ \S+ \d/.test(l))) busyLines++;
        if (want.some((l) => /\+iopf|iopf [1-9]\d* queued|ppr on/.test(l))) iopfLines++;
      }
    }
    expect(compared).toBe(30 * 80);
    // The random states reach domains with attached devices (non-empty list lines).
    expect(busyLines).toBeGreaterThan(100);
    expect(iopfLines).toBeGreaterThan(10);
  });
});
