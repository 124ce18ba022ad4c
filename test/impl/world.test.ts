import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import { createWorld, slotState } from '../../src/impl/world.js';
import { MockDriver } from './mockDriver.js';
import { bind, devSpec, iommuSpec, mockWorld, spawn } from './core/helpers.js';

describe('createWorld', () => {
  test('probes IOMMUs and devices: sid = index, max_pasids = min(PCI, IOMMU), groups shared by number', () => {
    const w = mockWorld({
      iommus: [iommuSpec({ pasidBits: 4 }), iommuSpec({ pasidBits: 10 })],
      devices: [devSpec(0, 5), devSpec(1, 7, { pasidBits: 3 }), devSpec(1, 7, { pasidBits: 0 }), devSpec(1, 9)],
    });
    const { devices, groups, iommus } = w.world;
    expect(iommus.map((i) => i.max_pasids)).toEqual([16, 1024]);
    expect(devices.map((d) => d.hw.sid)).toEqual([0, 1, 2, 3]);
    expect(devices.map((d) => d.max_pasids)).toEqual([16, 8, 0, 256]);
    expect(devices.map((d) => d.iommu.index)).toEqual([0, 1, 1, 1]);
    expect(groups.map((g) => [g.id, g.devices.map((d) => d.id)])).toEqual([[5, [0]], [7, [1, 2]], [9, [3]]]);
    expect(devices[1]!.group).toBe(devices[2]!.group);
    expect(devices.every((d) => (d.priv as { probed: boolean }).probed)).toBe(true);
    expect(devices[0]!.hw.iommu).toBe(w.driver.units[0]);
  });

  test('every mm slot starts unborn, with no fds', () => {
    const w = mockWorld({ mms: 4 });
    expect([0, 1, 2, 3].map((s) => slotState(w.world, s))).toEqual(['unborn', 'unborn', 'unborn', 'unborn']);
    expect(w.world.fds.flat().every((fd) => fd === undefined)).toBe(true);
  });

  test('worlds do not share kernel globals', () => {
    const a = mockWorld();
    const b = mockWorld();
    a.run(spawn(0), bind(0, 0));
    b.run(spawn(0), bind(0, 0));
    expect([...a.world.core.pasidIda]).toEqual([1]);
    expect([...b.world.core.pasidIda]).toEqual([1]);
  });

  test('rejects an invalid topology and a driver of another platform', () => {
    expect(() => createWorld({ ...defaultTopology('vtd'), mms: 0 }, new MockDriver('vtd'))).toThrow(/invalid topology/);
    expect(() => createWorld(defaultTopology('vtd'), new MockDriver('smmuv3'))).toThrow(/driver for smmuv3/);
  });
});
