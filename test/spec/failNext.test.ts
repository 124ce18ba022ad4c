import { describe, expect, test } from 'vitest';
import { type Command, type FailSite, type Observation, defaultTopology } from '../../src/shared/index.js';
import { abstractView, initSpec } from '../../src/spec/index.js';
import type { SpecState } from '../../src/spec/index.js';
import { bind, run, spawn } from './helpers.js';

/** Steps `cmd` as the checked step does when the kernel reported that `site` failed in it. */
const runFailing = (s: SpecState, cmd: Command, site: FailSite): Observation => {
  s.injected = site;
  return run(s, cmd);
};

describe('what a bind with a failed call promises (spec)', () => {
  test('kzalloc@iommu_alloc_mm_data: ENOMEM before any PASID is taken, state as before', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    const before = abstractView(s);
    expect(runFailing(s, bind(0, 0), 'kzalloc@iommu_alloc_mm_data')).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(abstractView(s)).toEqual(before);
  });

  test('ida_alloc_range: the failed PASID allocation is -ENOSPC (IOMMU_PASID_INVALID)', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    expect(runFailing(s, bind(0, 0), 'ida_alloc_range@iommu_alloc_global_pasid')).toEqual({ ok: false, errno: 'ENOSPC' });
    expect(abstractView(s).pasids).toEqual([]);
  });

  test('the handle: ENOMEM after the PASID, which is kept', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
    expect(runFailing(s, bind(0, 0), 'kzalloc@iommu_sva_bind_device')).toEqual({ ok: false, errno: 'ENOMEM' });
    const v = abstractView(s);
    expect(v.slots[0]!.pasid).toBe(1);
    expect(v.pasids).toEqual([1]);
    expect(v.handles).toEqual([]);
    expect(v.domains).toEqual([]);
    expect(v.failArmed).toBeNull();
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
  });

  test('SMMUv3 domain allocation: ENOMEM with no ASID, no domain and no pending notifier left', () => {
    for (const site of ['kzalloc@arm_smmu_domain_alloc', 'xa_alloc@arm_smmu_sva_domain_alloc', 'kzalloc@__mmu_notifier_register'] as const) {
      const s = initSpec(defaultTopology('smmuv3'));
      run(s, spawn(0));
      expect(runFailing(s, bind(0, 0), site)).toEqual({ ok: false, errno: 'ENOMEM' });
      const v = abstractView(s);
      expect(v.asids).toEqual([]);
      expect(v.domains).toEqual([]);
      expect(v.slots[0]!.pendingNotifiers).toBe(0);
      expect(v.slots[0]!.pasid).toBe(1);
    }
  });

  test('a driver attach site fails the new domain\'s attach with the site\'s errno; the domain is discarded', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    expect(runFailing(s, bind(0, 0), 'iommu_alloc_pages_node@intel_pasid_get_entry')).toEqual({ ok: false, errno: 'ENODEV' });
    expect(abstractView(s).domains).toEqual([]);
    expect(abstractView(s).handles).toEqual([]);
  });

  test('a failed attach of an existing domain moves on: the bind allocates a new one', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    run(s, bind(0, 0));
    // dev 1 sits behind the same SMMU: the existing domain is tried first, and its attach fails.
    expect(runFailing(s, bind(1, 0), 'kzalloc@arm_smmu_attach_prepare')).toEqual({ ok: true, value: 1 });
    expect(abstractView(s).domains).toHaveLength(2);
  });

  test('an armed failNext the bind did not reach stays armed', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'kzalloc@arm_smmu_domain_alloc' });
    expect(run(s, bind(0, 0)).ok).toBe(true);
    expect(abstractView(s).failArmed).toBe('kzalloc@arm_smmu_domain_alloc');
  });

  test('failNth applies to the next command only', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'failNth', n: 2 });
    expect(s.failNth).toBe(2);
    run(s, { kind: 'gracePeriod' });
    expect(s.failNth).toBe(0);
  });

  test('a failure the command cannot make is an expectation no kernel meets', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    const obs = runFailing(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' }, 'kzalloc@cache_tag_assign');
    expect(obs).toMatchObject({ ok: false, errno: 'EFAULT' });
    // VT-d checks SVA support before allocating: an ATS-less device cannot reach the domain's kzalloc.
    const t = initSpec(defaultTopology('vtd'));
    run(t, spawn(0));
    expect(runFailing(t, bind(1, 0), 'kzalloc@intel_svm_domain_alloc')).toMatchObject({ ok: false, errno: 'EFAULT' });
  });
});
