import { describe, expect, test } from 'vitest';
import { type World, coreOf, createWorld, implStep, injected_site } from '../../../src/impl/index.js';
import { intelIommuDriver } from '../../../src/impl/vtd/iommu.js';
import { armSmmuV3Driver } from '../../../src/impl/smmuv3/smmu.js';
import { type FailSite, defaultTopology } from '../../../src/shared/index.js';
import { bind, spawn } from '../../commands.js';

const vtdWorld = (): World => createWorld(defaultTopology('vtd'), intelIommuDriver);

/** The sites a clean first bind(0, 0) of a fresh mm calls, in order, from failNth(1), (2), … */
function callOrder(make: () => World): FailSite[] {
  const sites: FailSite[] = [];
  for (let n = 1; n < 30; n++) {
    const w = make();
    implStep(w, spawn(0));
    implStep(w, { kind: 'failNth', n });
    const r = implStep(w, bind(0, 0));
    const site = injected_site(w.kernel);
    if (site === undefined) {
      expect(r.ok).toBe(true);
      return sites;
    }
    expect(r.ok).toBe(false);
    sites.push(site);
  }
  throw new Error('more than 30 fallible calls in one bind');
}

describe('failNth: the n-th fallible call of the next command fails (/proc/self/fail-nth)', () => {
  test('VT-d: a first bind makes its fallible calls in the kernel\'s order', () => {
    expect(callOrder(vtdWorld)).toEqual([
      'kzalloc@iommu_alloc_mm_data', 'ida_alloc_range@iommu_alloc_global_pasid', 'kzalloc@iommu_sva_bind_device',
      'kzalloc@intel_svm_domain_alloc', 'kzalloc@__mmu_notifier_register', 'xa_insert@iommu_attach_device_pasid',
      'kzalloc@domain_add_dev_pasid', 'kzalloc@domain_qi_batch_alloc', 'kzalloc@cache_tag_assign', 'kzalloc@cache_tag_assign',
      'iommu_alloc_pages_node@intel_pasid_get_entry',
    ]);
  });

  test('SMMUv3: a first bind makes its fallible calls in the kernel\'s order', () => {
    expect(callOrder(() => createWorld(defaultTopology('smmuv3'), armSmmuV3Driver))).toEqual([
      'kzalloc@iommu_alloc_mm_data', 'ida_alloc_range@iommu_alloc_global_pasid', 'kzalloc@iommu_sva_bind_device',
      'kzalloc@arm_smmu_domain_alloc', 'xa_alloc@arm_smmu_sva_domain_alloc', 'kzalloc@__mmu_notifier_register',
      'xa_insert@iommu_attach_device_pasid', 'dma_alloc_coherent@arm_smmu_alloc_cd_tables', 'kzalloc@arm_smmu_attach_prepare',
    ]);
  });

  test('it applies to the next command only, fails once, and records the site as failed', () => {
    const w = vtdWorld();
    implStep(w, spawn(0));
    implStep(w, { kind: 'failNth', n: 1 });
    implStep(w, { kind: 'gracePeriod' }); // no fallible call: the injection lapses
    expect(implStep(w, bind(0, 0)).ok).toBe(true);
    expect(coreOf(w.kernel).inject.failed.size).toBe(0);
    implStep(w, spawn(1));
    implStep(w, { kind: 'failNth', n: 3 });
    expect(implStep(w, bind(0, 1))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect([...coreOf(w.kernel).inject.failed]).toEqual(['kzalloc@iommu_sva_bind_device']);
    expect(implStep(w, bind(0, 1)).ok).toBe(true);
  });

  test('failNext waits for its site across commands', () => {
    const w = vtdWorld();
    implStep(w, spawn(0));
    implStep(w, { kind: 'failNext', site: 'kzalloc@cache_tag_assign' });
    implStep(w, { kind: 'gracePeriod' });
    expect(implStep(w, bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(injected_site(w.kernel)).toBe('kzalloc@cache_tag_assign');
    expect(coreOf(w.kernel).inject.armed).toBeUndefined();
  });
});
