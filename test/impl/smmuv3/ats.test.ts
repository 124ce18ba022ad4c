/**
 * ATS Enable as endpoint state (the R03 work): the SMMUv3 driver owns the endpoint's ATS Control
 * Enable bit. It is clear after probe, set by arm_smmu_enable_ats (pci_enable_ats, after the
 * ATC_INV of the whole ATC), and only while it is set does the endpoint fill its ATC.
 */
import { describe, expect, test } from 'vitest';
import { iommu_sva_bind_device, iommu_sva_unbind_device } from '../../../src/impl/core/iommuSva.js';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../../../src/impl/core/mmuNotifier.js';
import { sync } from '../../../src/impl/core/sched.js';
import { to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { PAGE_SIZE, userVpn } from '../../../src/shared/index.js';
import { devSpec, kinds, master, smmuSpec, smmuWorld } from './world.js';

describe('SMMUv3 ATS enablement', () => {
  test('clear after probe, set by the SVA bind after its whole-ATC ATC_INV; the ATC fills only from then on', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const hw = w.devs[0]!.hw;
    expect(hw.ats).toBe(true);
    expect(hw.atsEnabled).toBe(false);
    const mm = w.spawn(0, 1);
    const r = sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm));
    if (!r.ok) throw new Error(r.errno);
    expect(hw.atsEnabled).toBe(true);
    expect(master(w.devs[0]!).ats_enabled).toBe(true);
    const pasid = mm.iommu_mm!.pasid;
    expect(hw.dma(pasid, userVpn(0), false).ok).toBe(true);
    expect(hw.counters.get('atc.miss')).toBe(1);
    expect(hw.dma(pasid, userVpn(0), false).ok).toBe(true);
    expect(hw.counters.get('atc.hit')).toBe(1);
    sync(mm.kernel, iommu_sva_unbind_device(r.value));
    expect(kinds(w.take())).toContain('ATC_INV');
  });

  test('R03 run to completion (no interleaving) ends with the same count as mainline: the fault needs a concurrent invalidation', () => {
    for (const fault of [undefined, 'R03'] as const) {
      const w = smmuWorld([smmuSpec()], [devSpec(0, 0)], fault === undefined ? {} : { fault });
      const mm = w.spawn(0, 1);
      const r = sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm));
      if (!r.ok) throw new Error(r.errno);
      expect(to_smmu_domain(r.value.domain).nr_ats_masters, String(fault)).toBe(1);
      w.take();
      sync(mm.kernel, mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0n, PAGE_SIZE));
      expect(kinds(w.take()), String(fault)).toEqual(['TLBI_NH_VA', 'CMD_SYNC', 'ATC_INV', 'CMD_SYNC']);
    }
  });
});
