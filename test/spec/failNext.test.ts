import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import { abstractView, initSpec } from '../../src/spec/index.js';
import { bind, run, spawn } from './helpers.js';

describe('failNext rolls back exactly as iommu_sva_bind_device does', () => {
  test('iommu_mm: ENOMEM before any PASID is taken', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    const before = abstractView(s);
    run(s, { kind: 'failNext', site: 'iommu_mm' });
    expect(run(s, bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(abstractView(s)).toEqual(before);
  });

  test('handle: ENOMEM after the PASID, which is kept', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'handle' });
    expect(run(s, bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    const v = abstractView(s);
    expect(v.slots[0]!.pasid).toBe(1);
    expect(v.pasids).toEqual([1]);
    expect(v.handles).toEqual([]);
    expect(v.domains).toEqual([]);
    expect(v.failArmed).toBeNull();
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
  });

  test('domain: ENOMEM with no ASID, no domain and no pending notifier left', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'domain' });
    expect(run(s, bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    const v = abstractView(s);
    expect(v.asids).toEqual([]);
    expect(v.domains).toEqual([]);
    expect(v.slots[0]!.pendingNotifiers).toBe(0);
    expect(v.slots[0]!.pasid).toBe(1);
  });

  test('a site the bind does not reach stays armed', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, spawn(0));
    run(s, bind(0, 0));
    run(s, { kind: 'failNext', site: 'domain' });
    // dev 1 sits behind the same SMMU: it reuses the domain, no allocation.
    expect(run(s, bind(1, 0)).ok).toBe(true);
    expect(abstractView(s).failArmed).toBe('domain');
    // dev 2 is behind the other SMMU: a new domain is needed, and the armed site fails it.
    expect(run(s, bind(2, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(abstractView(s).failArmed).toBeNull();
  });

  test('VT-d checks SVA support before the domain allocation, so EINVAL leaves the site armed', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, { kind: 'failNext', site: 'domain' });
    expect(run(s, bind(1, 0))).toEqual({ ok: false, errno: 'EINVAL' });
    expect(abstractView(s).failArmed).toBe('domain');
  });
});
