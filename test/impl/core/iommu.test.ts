import { describe, expect, test } from 'vitest';
import { iommu_attach_device_pasid, iommu_attach_handle_get, iommu_detach_device_pasid } from '../../../src/impl/core/iommu.js';
import { sync } from '../../../src/impl/core/sched.js';
import { findLeaks } from '../../../src/impl/quiesce.js';
import { MockDriver } from '../mockDriver.js';
import { bind, devSpec, grace, mockWorld, spawn, unbind } from './helpers.js';

const sameGroup = [devSpec(0, 0), devSpec(0, 0), devSpec(0, 0)];

describe('iommu_attach_device_pasid', () => {
  test('a device failing in a group rolls the earlier devices back through the blocking domain', () => {
    const w = mockWorld({ devices: sameGroup, config: { failSetDevPasid: new Map([[1, 'ENOSPC' as const]]) } });
    w.step(spawn(0));
    expect(w.step(bind(0, 0))).toEqual({ ok: false, errno: 'ENOSPC' });
    const ops = w.driver.log.filter((e) => e.op !== 'domain_alloc_sva').map((e) => `${e.op}${'dev' in e ? ` dev${e.dev}` : ''}`);
    expect(ops).toEqual(['set_dev_pasid dev0', 'set_dev_pasid dev1', 'blocked dev0', 'free']);
    expect(w.world.groups[0]!.pasid_array.size).toBe(0);
    expect(w.driver.units[0]!.entries.size).toBe(0);
    w.step(grace);
    expect(findLeaks(w.world)).toEqual([]);
  });

  test('a successful group attach programs every PASID-capable device and skips the others', () => {
    const w = mockWorld({ devices: [devSpec(0, 0), devSpec(0, 0, { pasidBits: 0 }), devSpec(0, 0)] });
    w.run(spawn(0), bind(0, 0));
    expect(w.driver.events('set_dev_pasid').map((e) => e.dev)).toEqual([0, 2]);
    // The other device of the group now finds the stored handle and shares it.
    expect(w.step(bind(2, 0))).toEqual({ ok: true, value: 1 });
    expect(w.world.fds[0]![2]!.handle).toBe(w.world.fds[0]![0]!.handle);
    expect(w.world.fds[0]![0]!.handle.users).toBe(2);
    w.run(unbind(0, 0), unbind(2, 0));
    expect(w.driver.events('blocked').map((e) => e.dev)).toEqual([0, 2]);
  });

  test('the kernel errnos: PASID 0 and out of range are -EINVAL, a taken PASID -EBUSY', () => {
    const w = mockWorld({ devices: [devSpec(0, 0), devSpec(0, 0, { pasidBits: 1 }), devSpec(0, 2)] });
    w.run(spawn(0), bind(2, 0));
    const domain = w.world.mms[0]!.iommu_mm!.sva_domains[0]!;
    const [d0] = w.world.devices;
    expect(sync(domain.mm!.kernel, iommu_attach_device_pasid(domain, d0!, 0))).toBe('EINVAL');
    // PASID 2 exceeds device 1's max_pasids (2): the whole group refuses it.
    expect(sync(domain.mm!.kernel, iommu_attach_device_pasid(domain, d0!, 2))).toBe('EINVAL');
    expect(sync(domain.mm!.kernel, iommu_attach_device_pasid(domain, d0!, 1))).toBe(0);
    expect(sync(domain.mm!.kernel, iommu_attach_device_pasid(domain, d0!, 1))).toBe('EBUSY');
    expect(w.world.groups[0]!.pasid_array.get(1)).toEqual({ kind: 'domain', domain });
    // A bare domain entry is not a handle: bind of the group sees -EBUSY through attach.
    expect(iommu_attach_handle_get(w.world.groups[0]!, 1, 'SVA')).toBe('ENOENT');
    sync(domain.mm!.kernel, iommu_detach_device_pasid(domain, d0!, 1));
    expect(w.world.groups[0]!.pasid_array.size).toBe(0);
  });

  test('a domain of another driver is -EINVAL; no PASID support in the blocked domain is -EOPNOTSUPP', () => {
    const a = mockWorld();
    const b = mockWorld({ config: { noPasid: true } });
    a.run(spawn(0), bind(0, 0));
    b.step(spawn(0));
    const domain = a.world.mms[0]!.iommu_mm!.sva_domains[0]!;
    const other = mockWorld({ mms: 1 });
    expect(sync(domain.mm!.kernel, iommu_attach_device_pasid(domain, other.world.devices[0]!, 1))).toBe('EINVAL');
    expect(b.step(bind(0, 0))).toEqual({ ok: false, errno: 'EOPNOTSUPP' });
    expect(other.driver).toBeInstanceOf(MockDriver);
  });

  test('iommu_attach_handle_get: ENOENT on an empty or reserved slot, EBUSY on a type mismatch', () => {
    const w = mockWorld();
    w.run(spawn(0), bind(0, 0));
    const g = w.world.groups[0]!;
    const h = w.world.fds[0]![0]!.handle;
    expect(iommu_attach_handle_get(g, 1, 'SVA')).toBe(h);
    expect(iommu_attach_handle_get(g, 1)).toBe(h);
    expect(iommu_attach_handle_get(g, 1, 'BLOCKED')).toBe('EBUSY');
    expect(iommu_attach_handle_get(g, 2, 'SVA')).toBe('ENOENT');
    g.pasid_array.set(3, { kind: 'reserved' });
    expect(iommu_attach_handle_get(g, 3, 'SVA')).toBe('ENOENT');
  });
});
