import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command, Platform, Topology } from '../../src/shared/index.js';

/** The shortest reproducer: bind the PASID-capable member of a mixed group. */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
];
/** One group: dev0 with PASID, dev1 without (a bridge or a no-PASID function, as in the thread). */
const mixedGroup = (platform: Platform, noPasidFirst = false): Topology => {
  const d = defaultTopology(platform);
  const pasid = { ...d.devices[0]!, group: 0 };
  const none = { ...d.devices[0]!, group: 0, pasidBits: 0, ats: false };
  return { ...d, devices: noPasidFirst ? [none, pasid] : [pasid, none] };
};

describe('B16: the core hands a PASID to a group member without PASID support (b3f6fcd8404f)', () => {
  test('On SMMUv3 the driver indexes the no-PASID master\'s one-entry CD table at the SSID: the emulated SMMU refuses the write (EXC)', () => {
    const bad = runSequence(mixedGroup('smmuv3'), HAND, { fault: 'B16' });
    if (!bad.ok) throw new Error(bad.error);
    const v = bad.value.session.violation;
    expect(v).toMatchObject({ invariant: 'EXC', step: 1 });
    expect(v?.message).toContain('SSID 1 out of range [0, 0] of the CD table');
  });

  test('On VT-d the driver refuses the device (intel_iommu_sva_supported): the whole bind fails with -EINVAL (OBS), and the PASID device is rolled back', () => {
    const bad = runSequence(mixedGroup('vtd'), HAND, { fault: 'B16' });
    if (!bad.ok) throw new Error(bad.error);
    const s = bad.value.session;
    expect(s.violation).toMatchObject({ invariant: 'OBS', step: 1 });
    expect(s.steps[1]).toMatchObject({ expected: { ok: true, value: 1 }, actual: { ok: false, errno: 'EINVAL' } });
    expect(s.world.groups[0]!.pasid_array.size).toBe(0);
  });

  test.each(PLATFORMS)('On %s the correct core skips the no-PASID device, whichever its place in the group', (platform) => {
    for (const first of [false, true]) {
      const t = mixedGroup(platform, first);
      const dev = first ? 1 : 0;
      const good = runSequence(t, [HAND[0]!, { kind: 'bind', dev, mm: 0 }]);
      expect(good.ok && good.value.session.violation).toBeUndefined();
      expect(good.ok && good.value.session.steps[1]!.actual).toEqual({ ok: true, value: 1 });
      const bad = runSequence(t, [HAND[0]!, { kind: 'bind', dev, mm: 0 }], { fault: 'B16' });
      expect(bad.ok && bad.value.session.violation?.step).toBe(1);
    }
  });

  test.each([1, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    for (const platform of PLATFORMS) {
      const f = findFault('B16', { platform, seed, runs: 200 });
      expect(f, `${platform} seed ${seed}`).toMatchObject({ found: true, expected: true });
      expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
    }
  });
});
