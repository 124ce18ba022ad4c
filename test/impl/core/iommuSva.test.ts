import { describe, expect, test } from 'vitest';
import { userToken } from '../../../src/shared/index.js';
import { findLeaks } from '../../../src/impl/quiesce.js';
import { bind, devSpec, dma, exit, grace, iommuSpec, mmap, mmdrop, mockWorld, spawn, touch, unbind } from './helpers.js';

describe('iommu_sva_bind_device / iommu_sva_unbind_device', () => {
  test('a double bind shares one handle with users 2; DMA works until the second unbind', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 2), touch(0, 0));
    const a = w.step(bind(0, 0));
    const b = w.step(bind(0, 0));
    expect(a).toEqual({ ok: true, value: 1 });
    expect(b).toEqual({ ok: true, value: 1 });
    const fd = w.world.fds[0]![0]!;
    expect(fd.binds).toBe(2);
    expect(fd.handle.users).toBe(2);
    expect(w.driver.events('domain_alloc_sva')).toHaveLength(1);

    w.step(unbind(0, 0));
    expect(fd.handle.users).toBe(1);
    expect(fd.handle.freed).toBe(false);
    expect(w.step(dma(0, 0, 0))).toEqual({ ok: true, value: userToken(0, 0, 1) });

    w.step(unbind(0, 0));
    expect(fd.handle.freed).toBe(true);
    const r = w.step(dma(0, 0, 0));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errno).toBe('EFAULT');
  });

  test('a second device of the same mm reuses the mm\'s domain by attaching it', () => {
    const w = mockWorld();
    w.run(spawn(0), bind(0, 0), bind(1, 0));
    const mm = w.world.mms[0]!;
    expect(mm.iommu_mm!.sva_domains).toHaveLength(1);
    expect(mm.iommu_mm!.sva_domains[0]!.users).toBe(2);
    expect(w.world.fds[0]![0]!.handle).not.toBe(w.world.fds[0]![1]!.handle);
  });

  test('an attach error on the existing domain moves on to a new domain (per-instance domains)', () => {
    const w = mockWorld({ iommus: [iommuSpec(), iommuSpec()], devices: [devSpec(0, 0), devSpec(1, 1)], config: { perInstance: true } });
    w.run(spawn(0), bind(0, 0), bind(1, 0));
    const domains = w.world.mms[0]!.iommu_mm!.sva_domains;
    expect(domains).toHaveLength(2);
    expect(domains.map((d) => d.users)).toEqual([1, 1]);
    expect(w.driver.events('set_dev_pasid').map((e) => e.ret)).toEqual([0, 'EINVAL', 0]);
  });

  test('exit while bound: release runs, DMA faults, unbind cleans up, the PASID lives until mmdrop and a grace period', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 2), touch(0, 0), bind(0, 0));
    const mm = w.world.mms[0]!;
    w.step(exit(0));
    expect(w.driver.events('release')).toEqual([{ op: 'release', domain: 0, mm: 0 }]);
    expect(mm.notifiers).toEqual([]);
    const r = w.step(dma(0, 0, 0));
    expect(!r.ok && r.fault).toContain('fault-disabled');
    expect(w.world.core.pasidIda.has(1)).toBe(true);

    w.step(unbind(0, 0));
    expect(w.driver.events('free')).toHaveLength(1);
    expect(w.world.core.pasidIda.has(1)).toBe(true);
    w.step(mmdrop(0));
    // The notifier still pins mm_count until free_notifier has run.
    expect(mm.freed).toBe(false);
    expect(mm.mm_count).toBe(1);
    w.step(grace);
    expect(w.driver.events('free_notifier')).toHaveLength(1);
    expect(mm.freed).toBe(true);
    expect(w.world.core.pasidIda.size).toBe(0);
    expect(findLeaks(w.world)).toEqual([]);
  });

  test('PASID exhaustion returns -ENOSPC and changes nothing', () => {
    const w = mockWorld({ iommus: [iommuSpec({ pasidBits: 1 })], mms: 3 });
    w.run(spawn(0), spawn(1), bind(0, 0));
    const before = w.driver.log.length;
    expect(w.step(bind(0, 1))).toEqual({ ok: false, errno: 'ENOSPC' });
    expect(w.world.mms[1]!.iommu_mm).toBeUndefined();
    expect(w.driver.log.length).toBe(before);
    expect([...w.world.core.pasidIda]).toEqual([1]);
    expect(findLeaks(w.world)).toEqual([]);
  });

  test('a device without PASID support gets -ENOSPC for a new mm and -EOVERFLOW once the mm has a PASID', () => {
    const w = mockWorld({ devices: [devSpec(0, 0), devSpec(0, 1, { pasidBits: 0 })] });
    w.run(spawn(0), spawn(1));
    expect(w.step(bind(1, 0))).toEqual({ ok: false, errno: 'ENOSPC' });
    w.step(bind(0, 1));
    expect(w.step(bind(1, 1))).toEqual({ ok: false, errno: 'EOVERFLOW' });
  });

  test('-EOVERFLOW when the mm\'s PASID is beyond the device, and the iommu_mm is never rolled back', () => {
    const w = mockWorld({ devices: [devSpec(0, 0), devSpec(0, 1, { pasidBits: 1 })], mms: 3 });
    w.run(spawn(0), spawn(1), bind(0, 0), bind(0, 1));
    expect(w.world.mms[1]!.iommu_mm!.pasid).toBe(2);
    expect(w.step(bind(1, 1))).toEqual({ ok: false, errno: 'EOVERFLOW' });
    // A failure after iommu_alloc_mm_data keeps the PASID: here the domain allocation fails.
    w.run(spawn(2), { kind: 'failNext', site: 'kzalloc@intel_svm_domain_alloc' });
    expect(w.step(bind(0, 2))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(w.world.mms[2]!.iommu_mm!.pasid).toBe(3);
  });

  test('failNext at each site fails with -ENOMEM and rolls back what the kernel rolls back', () => {
    const w = mockWorld();
    w.run(spawn(0), { kind: 'failNext', site: 'kzalloc@iommu_alloc_mm_data' });
    expect(w.step(bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(w.world.mms[0]!.iommu_mm).toBeUndefined();
    expect(w.world.core.pasidIda.size).toBe(0);

    w.step({ kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
    expect(w.step(bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(w.world.mms[0]!.iommu_mm!.pasid).toBe(1);
    expect(w.world.core.live.handles.size).toBe(0);

    w.step({ kind: 'failNext', site: 'kzalloc@intel_svm_domain_alloc' });
    expect(w.step(bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(w.driver.events('domain_alloc_sva')).toHaveLength(0);
    expect(w.world.core.live.handles.size).toBe(0);
    expect(w.world.core.inject.armed).toBeUndefined();
    expect(findLeaks(w.world)).toEqual([]);
    expect(w.step(bind(0, 0))).toEqual({ ok: true, value: 1 });
  });

  test('an armed site that a bind does not reach stays armed', () => {
    const w = mockWorld();
    w.run(spawn(0), bind(0, 0), { kind: 'failNext', site: 'kzalloc@intel_svm_domain_alloc' });
    // Sharing the handle allocates nothing.
    expect(w.step(bind(0, 0)).ok).toBe(true);
    expect(w.world.core.inject.armed).toBe('kzalloc@intel_svm_domain_alloc');
    // Attaching the existing domain for another device allocates a handle, not a domain.
    expect(w.step(bind(1, 0)).ok).toBe(true);
    expect(w.world.core.inject.armed).toBe('kzalloc@intel_svm_domain_alloc');
  });

  test('a failing attach of a fresh domain frees the domain (mmdrop + ops.free) and the handle', () => {
    const w = mockWorld({ config: { failSetDevPasid: new Map([[0, 'ENOMEM' as const]]) } });
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    expect(w.step(bind(0, 0))).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(w.driver.events('free')).toHaveLength(1);
    expect(mm.mm_count).toBe(2); // the notifier's pin until the grace period
    w.step(grace);
    expect(mm.mm_count).toBe(1);
    expect(w.world.core.live.domains.size).toBe(0);
    expect(w.world.core.live.handles.size).toBe(0);
    expect(findLeaks(w.world)).toEqual([]);
  });
});
