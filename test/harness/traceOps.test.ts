import { describe, expect, test } from 'vitest';
import { DRIVERS, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Platform } from '../../src/shared/index.js';
import { bind, dma, exit, grace, mmap, munmap, spawn, touch, unbind } from '../commands.js';

const SEQ: readonly Command[] = [
  spawn(0), mmap(0, 0, 2), touch(0, 1), bind(0, 0), dma(0, 0, 1), munmap(0, 1, 1), unbind(0, 0), bind(2, 0), exit(0), grace,
];

const events = (platform: Platform, lane?: string): string[] => {
  const r = runSequence(defaultTopology(platform), SEQ, { events: true });
  if (!r.ok) throw new Error(r.error);
  expect(r.value.session.violation).toBeUndefined();
  return r.value.session.steps.flatMap((s) => (s.events ?? []).filter((e) => lane === undefined || e.lane === lane).map((e) => `${e.actor}: ${e.text}`));
};

/** The kernel function each driver entry point is ported as, per platform. */
const ENTRY_POINTS: Readonly<Record<Platform, readonly RegExp[]>> = {
  vtd: [
    /^intel-iommu: iommu_ops->domain_alloc_sva\(dev0, mm0\)$/,
    /^intel-iommu: intel_svm_set_dev_pasid\(domain0, dev0, 1, NULL\)$/,
    /^intel-iommu: intel_arch_invalidate_secondary_tlbs\(notifier\(mm0\), mm0, 0x40001000, 0x40002000\)$/,
    /^intel-iommu: blocking_domain_set_dev_pasid\(blocked_domain, dev0, 1, domain0\)$/,
    /^intel-iommu: intel_mm_release\(notifier\(mm0\), mm0\)$/,
    /^intel-iommu: intel_mm_free_notifier\(notifier\(mm0\)\)$/,
  ],
  smmuv3: [
    /^arm-smmu-v3: arm_smmu_sva_domain_alloc\(dev0, mm0\)$/,
    /^arm-smmu-v3: arm_smmu_sva_set_dev_pasid\(domain0, dev0, 1, NULL\)$/,
    /^arm-smmu-v3: arm_smmu_mm_arch_invalidate_secondary_tlbs\(notifier\(mm0\), mm0, 0x40001000, 0x40002000\)$/,
    /^arm-smmu-v3: \w+\(blocked_domain, dev0, 1, domain0\)$/,
    /^arm-smmu-v3: arm_smmu_mm_release\(notifier\(mm0\), mm0\)$/,
  ],
  amd: [
    /^amd-iommu: amd_iommu_domain_alloc_sva\(dev0, mm0\)$/,
    /^amd-iommu: iommu_sva_set_dev_pasid\(domain0, dev0, 1, NULL\)$/,
    /^amd-iommu: sva_arch_invalidate_secondary_tlbs\(notifier\(mm0\), mm0, 0x40001000, 0x40002000\)$/,
    /^amd-iommu: blocked_domain_set_dev_pasid\(blocked_domain, dev0, 1, domain0\)$/,
    /^amd-iommu: sva_mn_release\(notifier\(mm0\), mm0\)$/,
  ],
};

describe.each<Platform>(['vtd', 'smmuv3', 'amd'])('Driver entry points and cache activity in the timeline on %s', (platform) => {
  test('Every call through an ops table is an event named after the ported function', () => {
    const driver = events(platform, 'driver');
    for (const re of ENTRY_POINTS[platform]) expect(driver.some((l) => re.test(l)), `${re}`).toBe(true);
  });

  test('The IOMMU\'s and the ATC\'s fills and an invalidation\'s evictions are events', () => {
    const all = events(platform);
    const fill = { vtd: /^vtd0: IOTLB fill DID \d+ PASID 1 vpn 0x40001 → frame \d+ rw$/, smmuv3: /^smmu0: TLB fill ASID \d+ vpn 0x40001 → frame \d+ rw$/, amd: /^amd0: IOTLB fill DID \d+ PASID 1 vpn 0x40001 → frame \d+ rw$/ }[platform];
    expect(all.some((l) => fill.test(l))).toBe(true);
    expect(all.some((l) => /^dev0: ATC fill PASID 1 vpn 0x40001 → frame \d+ rw$/.test(l))).toBe(true);
    const evict = {
      vtd: /^vtd0: apply piotlb: evicts .*IOTLB DID \d+ PASID 1 vpn 0x40001/,
      smmuv3: /^smmu0: apply TLBI_NH_VA: evicts .*TLB ASID \d+ vpn 0x40001/,
      amd: /^amd0: apply INVALIDATE_IOMMU_PAGES: evicts .*IOTLB DID \d+ PASID 1 vpn 0x40001/,
    }[platform];
    expect(all.some((l) => evict.test(l))).toBe(true);
  });

  test('Tracing changes nothing: the same observations with and without events, and the driver tables stay the driver\'s', () => {
    const before = { ...DRIVERS[platform] };
    const quiet = runSequence(defaultTopology(platform), SEQ);
    const loud = runSequence(defaultTopology(platform), SEQ, { events: true });
    if (!quiet.ok || !loud.ok) throw new Error('sequence refused');
    expect(loud.value.session.steps.map((s) => [s.expected, s.actual])).toEqual(quiet.value.session.steps.map((s) => [s.expected, s.actual]));
    expect(quiet.value.session.steps.every((s) => s.events === undefined)).toBe(true);
    expect({ ...DRIVERS[platform] }).toEqual(before);
    // Quiet worlds call the driver's own static table; only a recording world has a traced copy.
    const again = runSequence(defaultTopology(platform), SEQ.slice(0, 1));
    if (!again.ok) throw new Error(again.error);
    expect(again.value.session.world.iommus[0]!.ops).toBe(quiet.value.session.world.iommus[0]!.ops);
    expect(loud.value.session.world.iommus[0]!.ops).not.toBe(quiet.value.session.world.iommus[0]!.ops);
  });
});
