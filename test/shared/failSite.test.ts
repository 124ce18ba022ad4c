import { expect, test } from 'vitest';
import { ERRNOS, FAIL_SITES, FAIL_SITE_INFO, PLATFORMS, failSiteInfo, failSitesOf, isFailSite } from '../../src/shared/index.js';

test('the registry is closed: unique `call@caller` names, an errno of the closed set, a platform', () => {
  expect(new Set(FAIL_SITES).size).toBe(FAIL_SITES.length);
  for (const i of FAIL_SITE_INFO) {
    expect(i.site).toMatch(/^[a-z_]+@[a-z_0-9]+$/);
    expect(ERRNOS).toContain(i.errno);
    if (typeof i.platform === 'string') expect(['all', ...PLATFORMS]).toContain(i.platform);
    else for (const p of i.platform) expect(PLATFORMS).toContain(p);
    expect(failSiteInfo(i.site)).toBe(i);
  }
  expect(isFailSite('kzalloc@iommu_sva_bind_device')).toBe(true);
  expect(isFailSite('handle')).toBe(false);
});

test('each platform has the core sites and its own driver\'s', () => {
  for (const p of PLATFORMS) {
    const sites = failSitesOf(p);
    expect(sites).toContain('kzalloc@iommu_alloc_mm_data');
    for (const s of sites) {
      const where = failSiteInfo(s).platform;
      expect(typeof where === 'string' ? ['all', p].includes(where) : where.includes(p)).toBe(true);
    }
  }
  // AMD enables IOPF at attach_device, not per PASID: the bind never reaches that call.
  expect(failSitesOf('amd')).not.toContain('kzalloc@iopf_queue_add_device');
  expect(failSitesOf('amd')).toContain('iommu_alloc_pages_node@__get_gcr3_pte');
  expect(failSitesOf('vtd')).toContain('kzalloc@cache_tag_assign');
  expect(failSitesOf('vtd')).not.toContain('kzalloc@arm_smmu_attach_prepare');
});
