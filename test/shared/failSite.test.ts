import { expect, test } from 'vitest';
import { ERRNOS, FAIL_SITES, FAIL_SITE_INFO, PLATFORMS, failSiteInfo, failSitesOf, isFailSite } from '../../src/shared/index.js';

test('the registry is closed: unique `call@caller` names, an errno of the closed set, a platform', () => {
  expect(new Set(FAIL_SITES).size).toBe(FAIL_SITES.length);
  for (const i of FAIL_SITE_INFO) {
    expect(i.site).toMatch(/^[a-z_]+@[a-z_0-9]+$/);
    expect(ERRNOS).toContain(i.errno);
    expect(['all', ...PLATFORMS]).toContain(i.platform);
    expect(failSiteInfo(i.site)).toBe(i);
  }
  expect(isFailSite('kzalloc@iommu_sva_bind_device')).toBe(true);
  expect(isFailSite('handle')).toBe(false);
});

test('each platform has the core sites and its own driver\'s', () => {
  for (const p of PLATFORMS) {
    const sites = failSitesOf(p);
    expect(sites).toContain('kzalloc@iommu_alloc_mm_data');
    for (const s of sites) expect(['all', p]).toContain(failSiteInfo(s).platform);
  }
  expect(failSitesOf('vtd')).toContain('kzalloc@cache_tag_assign');
  expect(failSitesOf('vtd')).not.toContain('kzalloc@arm_smmu_attach_prepare');
});
