import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../../src/shared/index.js';
import { dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import { intel_pasid_setup_first_level, intel_pasid_tear_down_entry } from '../../../src/impl/vtd/pasid.js';
import { lockdep_held } from '../../../src/impl/core/locking.js';
import type { Co } from '../../../src/impl/core/sched.js';
import { bindAll, populated, vtdWorld } from './fixture.js';

/** Step `co` until it stops at the preempt point named `what` (or ends: then fail). */
function stepTo(co: Co<unknown>, what: string): void {
  for (;;) {
    const r = co.next();
    if (r.done) throw new Error(`ended before ${what}`);
    if (r.value.what === what) return;
  }
}

describe('PASID entries are written one 64-bit store at a time', () => {
  test('setup: the hardware fetches a half-written, non-present entry between stores; P comes last', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    w.run(...populated(1), ...bindAll([0]));
    const dev = w.world.devices[0]!;
    const table = dev_iommu_priv_get(dev).pasid_table!;
    const pgd = w.world.mms[0]!.pgd.pgd;
    const co = intel_pasid_setup_first_level(w.iommu(0), dev, pgd, 2, 7, 0);
    // pasid_pte_config_first_level: val[2] (FLPTR) first, then val[1] (DID).
    stepTo(co, 'pasid entry pe->val[1] store');
    expect(lockdep_held(w.iommu(0).kernel)).toContain('&iommu->lock');
    expect(table.fetch(2)).toMatchObject({ present: false, flptr: pgd, did: 0 });
    stepTo(co, 'pasid entry P bit store');
    // Every word is written but P: the hardware still sees a non-present entry.
    expect(table.fetch(2)).toMatchObject({ present: false, flptr: pgd, did: 7, pgtt: 'FL' });
    expect(co.next().done).toBe(false); // the P store, then spin_unlock's preempt point
    expect(table.fetch(2)).toMatchObject({ present: true, flptr: pgd, did: 7, pgtt: 'FL' });
    while (!co.next().done) { /* flushes */ }
    expect(lockdep_held(w.iommu(0).kernel)).not.toContain('&iommu->lock');
  });

  test('B18 (before 75ed00055c05): zeroing a present entry clears P in its first store, val[1] still old', () => {
    const w = vtdWorld(defaultTopology('vtd'));
    w.run(...populated(1), ...bindAll([0]));
    const dev = w.world.devices[0]!;
    const table = dev_iommu_priv_get(dev).pasid_table!;
    const before = table.fetch(1)!;
    expect(before.present).toBe(true);
    (w.iommu(0).kernel as { fault: string | undefined }).fault = 'B18';
    const co = intel_pasid_tear_down_entry(w.iommu(0), dev, 1, false);
    stepTo(co, 'pasid entry pe->val[1] store');
    expect(table.fetch(1)).toMatchObject({ present: false, did: before.did, flptr: before.flptr });
  });
});

describe('domain locks', () => {
  test('domain_add_dev_pasid: the batch and each tag under &domain->cache_lock, the dev_pasid link under &domain->lock', async () => {
    const { domain_add_dev_pasid } = await import('../../../src/impl/vtd/iommu.js');
    const w = vtdWorld(defaultTopology('vtd'));
    w.run(...populated(1), ...bindAll([0]));
    const dev = w.world.devices[0]!;
    const dmar = w.domainOf(0);
    const co = domain_add_dev_pasid(dmar.domain, dev, 3);
    const seen: string[] = [];
    for (let r = co.next(); !r.done; r = co.next()) seen.push(r.value.what);
    expect(seen.filter((s) => s === 'spin_lock(&domain->cache_lock)').length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((s) => s === 'spin_lock(&domain->cache_lock)').length).toBe(seen.filter((s) => s === 'spin_unlock(&domain->cache_lock)').length);
    expect(seen.slice(-2)).toEqual(['spin_lock(&domain->lock)', 'spin_unlock(&domain->lock)']);
    expect(dmar.dev_pasids[0]).toEqual({ dev, pasid: 3 });
    expect(lockdep_held(w.iommu(0).kernel)).toEqual([]);
  });
});
