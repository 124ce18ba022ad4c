import { describe, expect, test } from 'vitest';
import { handles } from '../../../properties/lifecycle/handles.js';
import { PLATFORMS, bind, busy, check, expectFires, expectHolds, pair, spawn, unbind } from '../helpers.js';

describe.each(PLATFORMS)('I4 handles on %s', (platform) => {
  test('holds for repeated binds and for group devices sharing one handle, down to the last unbind', () => {
    const p = pair(platform).run(spawn(0), bind(0, 0), bind(0, 0), bind(3, 0));
    expectHolds(handles, p);
    p.run(unbind(0, 0));
    expectHolds(handles, p);
    p.run(unbind(0, 0), unbind(3, 0));
    expectHolds(handles, p);
  });

  test('fires when a handle\'s users differ from the binds held (B08 shape)', () => {
    const p = busy(platform);
    p.world.fds[0]![0]!.handle.users = 1;
    expectFires(handles, p, /has users 1, but callers hold 2 binds/);
  });

  test('fires when a PASID is detached before the last unbind', () => {
    const p = busy(platform);
    const pasid = p.world.mms[0]!.iommu_mm!.pasid;
    p.world.devices[0]!.group.pasid_array.delete(pasid);
    expectFires(handles, p, /not installed at PASID/);
  });
});

test.each(PLATFORMS)('dev3 and dev5 of one group share one handle on %s', (platform) => {
  const p = pair(platform).run(spawn(0), bind(3, 0), bind(5, 0), bind(5, 0));
  expect(p.world.fds[0]![5]!.handle).toBe(p.world.fds[0]![3]!.handle);
  expect(p.world.fds[0]![3]!.handle.users).toBe(3);
  expect(check(handles, p)).toEqual([]);
});
