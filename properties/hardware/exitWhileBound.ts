import type { Anomaly } from '../../src/hw/mem.js';
import type { MmStruct } from '../../src/impl/index.js';
import type { CheckContext, Invariant } from '../invariant.js';
import { perPlatform, type Sink } from './platform.js';
import { SSID_SPACE, cdCacheOf, cdTranslates, memoryCd, smmuUnits } from './smmuRead.js';
import { PASID_SPACE, pasidCacheOf, vtdUnits } from './vtdRead.js';
import { amdUnits, gcr3Domid, memoryGcr3 } from './amdRead.js';
import { didPasidKey } from '../../src/hw/vtd/iotlb.js';

/** Calls `each(dev, pasid)` for every bond of an mm that has exited but is not freed. */
function exitedBonds(ctx: CheckContext, each: (dev: number, pasid: number, mm: MmStruct) => void): void {
  const { world } = ctx;
  for (let slot = 0; slot < world.mms.length; slot++) {
    const mm = world.mms[slot];
    if (mm === undefined || !mm.exited || mm.freed || mm.iommu_mm === undefined) continue;
    const row = world.fds[slot]!;
    for (let dev = 0; dev < row.length; dev++) if (row[dev] !== undefined) each(dev, mm.iommu_mm.pasid, mm);
  }
}

function walks(anomalies: readonly Anomaly[], out: Sink): void {
  for (let i = 0; i < anomalies.length; i++) {
    const a = anomalies[i]!;
    if (a.kind === 'dma-freed-frame') continue;
    out.add({ frame: a.frame }, `${a.by} walked ${a.kind === 'walk-freed-table' ? 'a freed page-table page' : 'a data frame as a page table'} (frame ${a.frame})`);
  }
}

/**
 * I9: once an mm has exited, every device still bound to it is blocked (VT-d: entry not present,
 * FPD or cleared; SMMU: the quiet CD with EPD0, or none), and no hardware walk reads a freed
 * page-table page.
 */
export const exitWhileBound: Invariant = {
  id: 'I9',
  title: 'Exit while bound blocks DMA and walks no freed table',
  kernelRule:
    "The mmu notifier's release (from exit_mmap, before the page tables are freed) blocks every PASID entry / CD of the mm, so no device walks the tables that exit_mmap then frees.",
  source:
    'drivers/iommu/intel/svm.c: intel_mm_release; drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_mm_release; drivers/iommu/amd/pasid.c: sva_mn_release (v6.19-rc); mm/mmap.c: exit_mmap (v6.17); bug B01',
  check: perPlatform('I9', {
    vtd: (ctx, out) => {
      const units = vtdUnits(ctx.world);
      exitedBonds(ctx, (dev, pasid, mm) => {
        const d = ctx.world.devices[dev]!;
        const u = units[d.iommu.index]!.unit;
        const sid = d.hw.sid;
        const objects = { dev, pasid, mm: mm.slot };
        if (u.pasidTable(sid)?.fetch(pasid)?.present === true) out.add(objects, `${d.hw.name} PASID ${pasid}: entry still present after mm${mm.slot} exited`);
        if (pasidCacheOf(u).get(sid * PASID_SPACE + pasid)?.present === true) out.add(objects, `${u.name} PASID cache still holds a present entry for ${d.hw.name} PASID ${pasid} after mm${mm.slot} exited`);
      });
      walks(ctx.anomalies, out);
    },
    smmuv3: (ctx, out) => {
      const units = smmuUnits(ctx.world);
      exitedBonds(ctx, (dev, pasid, mm) => {
        const d = ctx.world.devices[dev]!;
        const u = units[d.iommu.index]!.unit;
        const sid = d.hw.sid;
        const objects = { dev, pasid, mm: mm.slot };
        if (cdTranslates(memoryCd(u, sid, pasid))) out.add(objects, `${d.hw.name} SSID ${pasid}: CD still walks TTB0 after mm${mm.slot} exited`);
        if (cdTranslates(cdCacheOf(u).get(sid * SSID_SPACE + pasid))) out.add(objects, `${u.name} CD cache still holds a translating CD for ${d.hw.name} SSID ${pasid} after mm${mm.slot} exited`);
      });
      walks(ctx.anomalies, out);
    },
    // sva_mn_release clears the GCR3 entry of every attachment (and flushes it).
    amd: (ctx, out) => {
      const units = amdUnits(ctx.world);
      exitedBonds(ctx, (dev, pasid, mm) => {
        const d = ctx.world.devices[dev]!;
        const u = units[d.iommu.index]!.unit;
        const objects = { dev, pasid, mm: mm.slot };
        if (memoryGcr3(d, pasid)?.valid === true) out.add(objects, `${d.hw.name} PASID ${pasid}: GCR3 entry still valid after mm${mm.slot} exited`);
        if (u.gcr3Cache.get(didPasidKey(gcr3Domid(d), pasid))?.entry.valid === true) out.add(objects, `${u.name} GCR3 cache still holds a valid entry for ${d.hw.name} PASID ${pasid} after mm${mm.slot} exited`);
      });
      walks(ctx.anomalies, out);
    },
  }),
};
