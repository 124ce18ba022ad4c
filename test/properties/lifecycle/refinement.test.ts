import { describe, expect, test } from 'vitest';
import { createWorld } from '../../../src/impl/index.js';
import { stepBoth } from '../../../src/harness/index.js';
import { driverFor } from '../../../src/harness/platforms.js';
import { defaultTopology } from '../../../src/shared/index.js';
import { abstractView, initSpec } from '../../../src/spec/index.js';
import { abstract } from '../../../properties/abstraction.js';
import { refinement } from '../../../properties/lifecycle/refinement.js';
import { matchesSpec } from '../../../properties/lifecycle/refinementMatch.js';
import type { StepProbe } from '../../../properties/probe.js';
import { nextLegal, rng } from '../randomCommands.js';
import { platformOf } from '../../../properties/lifecycle/platform/index.js';
import { amd_iommu_pdom_id_alloc } from '../../../src/impl/amd/pdomIds.js';
import { arm_smmu_asid_xa } from '../../../src/impl/smmuv3/smmu.js';
import type { ArmSmmuDomain } from '../../../src/impl/smmuv3/structs.js';
import { PLATFORMS, busy, check, exit, expectFires, expectHolds, mprotect, munmap, pair, poke, topology, type Pair } from '../helpers.js';

/** The fast path must see every crafted divergence, not only the full diff. */
const diverges = (p: Pair, what: RegExp): void => {
  expect(matchesSpec(p.world, p.spec)).toBe(false);
  expectFires(refinement, p, what);
};

describe.each(PLATFORMS)('REF refinement on %s', (platform) => {
  test('holds on a busy state, and abstract(world) is the spec\'s view', () => {
    const p = busy(platform).run(mprotect(0, 1, 'none'), munmap(1, 3, 1), exit(0));
    expectHolds(refinement, p);
    expect(abstract(p.world)).toEqual(abstractView(p.spec));
  });

  test('fires with the differing path when a PTE loses its write bit', () => {
    const p = busy(platform);
    p.world.mms[0]!.pgd.setWrite(0x40000, false); // page 0 (layout.ts userVpn(0))
    diverges(p, /view\.slots\[0\]\.pages\[0\]\.pte: "rw" expected, "r" actual/);
    expect(check(refinement, p)[0]!.objects).toEqual({ mm: 0 });
  });

  test('fires when a page\'s PageAnonExclusive differs from the spec\'s (a fork shared it, or a write fault claimed it)', () => {
    const p = busy(platform);
    const e = p.world.mms[0]!.pgd.lookup(0x40000); // page 0 (layout.ts userVpn(0))
    const frame = e >>> 3;
    p.world.kernel.mem.setAnonExclusive(frame, !p.world.kernel.mem.anonExclusive(frame));
    diverges(p, /view\.slots\[0\]\.pages\[0\]\.exclusive/);
  });

  test('fires when a handle refcount drifts', () => {
    const p = busy(platform);
    p.world.fds[0]![0]!.handle.users = 5;
    diverges(p, /view\.handles\[0\]\.users: 2 expected, 5 actual/);
  });

  test('fires when the PASID IDA leaks an id', () => {
    const p = busy(platform);
    p.world.core.pasidIda.add(11);
    diverges(p, /view\.pasids: length 2 expected, 3 actual/);
  });

  test('the handle scan is redone each check: an entry dropped between two checks is seen', () => {
    // matchesSpec keeps its handle scan in per-world scratch arrays; a check after one that
    // matched must not reuse the previous scan's entries.
    const p = busy(platform);
    expect(matchesSpec(p.world, p.spec)).toBe(true);
    const g = p.world.devices[2]!.group;
    const [pasid] = [...g.pasid_array.keys()];
    g.pasid_array.delete(pasid!);
    diverges(p, /abstract\(world\) differs from the spec: view\.(domains|handles)/);
  });

  test('fires when a handle entry moves to a group behind another IOMMU (the domain\'s IOMMUs change)', () => {
    const p = busy(platform);
    expect(matchesSpec(p.world, p.spec)).toBe(true);
    const from = p.world.devices[0]!.group;
    const pasid = p.world.mms[1]!.iommu_mm!.pasid;
    const to = p.world.devices.find((d) => d.iommu.index !== p.world.devices[0]!.iommu.index && !d.group.pasid_array.has(pasid))!.group;
    const e = from.pasid_array.get(pasid)!;
    expect(e.kind).toBe('handle');
    from.pasid_array.delete(pasid);
    to.pasid_array.set(pasid, e);
    diverges(p, /abstract\(world\) differs from the spec: view\.(domains|handles)/);
  });

  test('asidsAre (the ASID fast path: a count and a lookup each) sees an ASID allocated, or swapped, behind the spec', () => {
    const p = busy(platform);
    expect(matchesSpec(p.world, p.spec)).toBe(true);
    const lc = platformOf(p.world);
    const kernel = p.world.kernel;
    if (platform === 'vtd') {
      expect(lc.asidsAre(p.world, new Set([1]))).toBe(false);
      return;
    }
    const before = lc.asids(p.world);
    expect(before.length).toBeGreaterThan(0);
    const extra = platform === 'amd'
      ? amd_iommu_pdom_id_alloc(kernel)
      : arm_smmu_asid_xa(kernel).xa_alloc({} as ArmSmmuDomain, 1, 255);
    expect(typeof extra).toBe('number');
    diverges(p, /view\.asids/);
    // Same count, one ID different: the lookup direction catches it.
    const swapped = new Set(before);
    swapped.delete(before[0]!);
    swapped.add(extra as number);
    expect(lc.asidsAre(p.world, new Set([...before, extra as number]))).toBe(true);
    expect(lc.asidsAre(p.world, swapped)).toBe(false);
  });

  test('fires when an mm_struct is marked freed while the spec keeps it live', () => {
    const p = busy(platform);
    poke(p.world.mms[1]!, 'freed', true);
    diverges(p, /view\.slots\[1\]\.state: "live" expected, "freed" actual/);
  });
});

test('fires when an iommufd HWPT\'s domain is on another SMMU than the spec allocated it for (SMMUv3), or allocated behind it', () => {
  // dev0 is behind SMMU 0: HWPT 1's stage-1 domain is allocated for it there.
  const p = pair('smmuv3').run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 5 });
  expectHolds(refinement, p);
  expect(abstract(p.world).hwpts).toEqual([{ hwpt: 1, iommu: 0 }]);
  p.spec.hwpts[1]!.iommu = 1;
  diverges(p, /view\.hwpts\[0\]\.iommu: 1 expected, 0 actual/);
  p.spec.hwpts[1]!.iommu = 0;
  p.spec.hwpts[1]!.allocated = false;
  diverges(p, /view\.hwpts: length 0 expected, 1 actual/);
});

test.each(PLATFORMS)('on random legal runs (%s) the fast path agrees with the full views and REF never fires', (platform) => {
  const probe = { begin: (): void => undefined } as StepProbe;
  let compared = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const t = seed % 2 === 0 ? defaultTopology(platform) : topology(platform);
    const world = createWorld(t, driverFor(platform));
    const spec = initSpec(t);
    const r = rng(seed);
    for (let step = 0; step < 150; step++) {
      const cmd = nextLegal(spec, r);
      const { expected, actual } = stepBoth(spec, world, cmd);
      const equal = JSON.stringify(abstract(world)) === JSON.stringify(abstractView(spec));
      expect(equal, `seed ${seed} step ${step}`).toBe(true);
      expect(matchesSpec(world, spec)).toBe(equal);
      expect(refinement.check({ step, cmd, expected, actual, spec, world, anomalies: [], probe })).toEqual([]);
      compared++;
    }
  }
  expect(compared).toBe(6000);
});
