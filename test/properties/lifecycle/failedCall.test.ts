import { describe, expect, test } from 'vitest';
import { failFootprint, failedCall, iommufdFootprint } from '../../../properties/lifecycle/failedCall.js';
import type { CheckContext } from '../../../properties/invariant.js';
import type { StepProbe } from '../../../properties/probe.js';
import { runSequence } from '../../../src/harness/index.js';
import { implStep } from '../../../src/impl/index.js';
import { type Command, type FindingName, type Platform, defaultTopology, failSitesOf } from '../../../src/shared/index.js';
import { dev_iommu_priv_get } from '../../../src/impl/vtd/dmar.js';
import { dev_iommu_priv_get as amd_dev_data } from '../../../src/impl/amd/structs.js';
import { amd_iommu_pdom_id_alloc } from '../../../src/impl/amd/pdomIds.js';
import { PLATFORMS, bind, pair, spawn } from '../helpers.js';

/** A failed bind(0, 0) of a fresh mm (the handle's kzalloc fails), its context built by hand. */
function failedBind(platform: Platform, beforeBind?: (w: ReturnType<typeof pair>['world']) => void) {
  const p = pair(platform).run(spawn(0), { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' });
  beforeBind?.(p.world);
  const before = failFootprint(p.world, 0);
  const cmd: Command = bind(0, 0);
  const actual = implStep(p.world, cmd);
  expect(actual).toEqual({ ok: false, errno: 'ENOMEM' });
  const ctx = (): CheckContext => ({
    step: 2, cmd, expected: actual, actual, spec: p.spec, world: p.world, anomalies: [],
    probe: { begin: () => undefined, before } as unknown as StepProbe,
  });
  return { p, ctx };
}

describe.each(PLATFORMS)('I-FAIL a failed call leaves nothing behind on %s', (platform) => {
  test('holds on a bind failed at every site of the platform, each run through the checked step', () => {
    const t = defaultTopology(platform);
    let failed = 0;
    for (const site of failSitesOf(platform)) {
      // A second mm bound first, so that attach sites of an existing domain are reached too.
      for (const lead of [[], [bind(2, 1)]] as Command[][]) {
        const cmds: Command[] = [spawn(0), spawn(1), ...lead, { kind: 'failNext', site }, bind(0, 0), bind(2, 0)];
        const r = runSequence(t, cmds);
        if (!r.ok) throw new Error(r.error);
        expect(r.value.session.violation, `${site} after ${lead.length} binds`).toBeUndefined();
        failed += r.value.session.steps.filter((s) => !s.actual.ok).length;
      }
    }
    expect(failed).toBeGreaterThan(0);
  });

  test('holds on the hand-built failed bind: only the PASID stayed', () => {
    const { p, ctx } = failedBind(platform);
    expect(p.world.mms[0]!.iommu_mm?.pasid).toBe(1);
    expect(failedCall.check(ctx())).toEqual([]);
  });

  test('fires when the failed bind left its handle allocated', () => {
    const { p, ctx } = failedBind(platform);
    p.world.core.live.handles.add({ id: 99, domain: p.world.devices[0]!.iommu.ops.blocked_domain, dev: undefined, users: 0, freed: false });
    const vs = failedCall.check(ctx());
    expect(vs.map((v) => v.invariant)).toEqual(['I-FAIL']);
    expect(vs[0]!.message).toMatch(/handles {2}→ handles 99x0/);
  });

  test('fires when the failed bind left a pasid_array entry and a raised mm_count', () => {
    const { p, ctx } = failedBind(platform);
    p.world.devices[0]!.group.pasid_array.set(1, { kind: 'reserved' });
    p.world.mms[0]!.mm_count++;
    const msg = failedCall.check(ctx())[0]?.message;
    expect(msg).toMatch(/mm_count 1,-,- → mm_count 2,-,-/);
    expect(msg).toMatch(/group 0 pasid_array {2}→ group 0 pasid_array 1:reserved/);
  });
});

test('I-FAIL fires when a failed VT-d bind left a PASID-cache entry at the new PASID', () => {
  const { p, ctx } = failedBind('vtd');
  const dev = p.world.devices[0]!;
  const info = dev_iommu_priv_get(dev);
  info.iommu.unit.pasidCache.fill(info.sid, 1, { present: true, fpd: false, pgtt: 'FL', flptr: 1, did: 1, fl5lp: false } as never);
  expect(failedCall.check(ctx())[0]?.message).toMatch(/PASID cache .*:1 \(new\)/);
});

test('I-FAIL holds when the entry at the new PASID was there before the bind (left at a freed PASID), and says which one the bind gets', () => {
  const fill = (w: ReturnType<typeof pair>['world']): void => {
    const info = dev_iommu_priv_get(w.devices[0]!);
    info.iommu.unit.pasidCache.fill(info.sid, 1, { present: true, fpd: false, pgtt: 'FL', flptr: 1, did: 1, fl5lp: false } as never);
  };
  const { p, ctx } = failedBind('vtd', fill);
  expect(ctx().probe.before!.next).toEqual({ pasid: 1, entries: [expect.stringMatching(/PASID cache .*:1/)] });
  expect(p.world.mms[0]!.iommu_mm?.pasid).toBe(1);
  expect(failedCall.check(ctx())).toEqual([]);
});

test('I-FAIL fires when a failed AMD bind left a valid GCR3 entry at the new PASID', () => {
  const { p, ctx } = failedBind('amd');
  const tbl = amd_dev_data(p.world.devices[0]!).gcr3_info.gcr3_tbl!;
  tbl.allocLeaf(1);
  tbl.write(1, { valid: true, cr3: 1 });
  expect(failedCall.check(ctx())[0]?.message).toMatch(/GCR3 entry 1 valid \(new\)/);
});

test('I-FAIL fires when a failed AMD bind kept a protection-domain ID', () => {
  const { p, ctx } = failedBind('amd');
  expect(amd_iommu_pdom_id_alloc(p.world.kernel)).toBeGreaterThan(0);
  expect(failedCall.check(ctx())[0]?.message).toMatch(/pdom_ids [\d,]+ → pdom_ids [\d,]+/);
});

describe('I-FAIL on a failed iommufd attach or replace (VT-d RID)', () => {
  /** HWPT 0 at dev0's RID, then a replace onto HWPT 1 whose first tag batch fails, its context built by hand. */
  const failedReplace = (fixes: readonly FindingName[]) => {
    const p = pair('vtd', fixes).run({ kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 0 }, { kind: 'failNext', site: 'kzalloc@domain_qi_batch_alloc' });
    const cmd: Command = { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 };
    const before = iommufdFootprint(p.world, cmd);
    const actual = implStep(p.world, cmd);
    expect(actual).toEqual({ ok: false, errno: 'ENOMEM' });
    const ctx: CheckContext = {
      step: 2, cmd, expected: actual, actual, spec: p.spec, world: p.world, anomalies: [],
      probe: { begin: () => undefined, before } as unknown as StepProbe,
    };
    return { p, ctx };
  };

  test('holds when the failed replace left the RID entry as it was (the fix of vtd-rid-replace-blocks)', () => {
    expect(failedCall.check(failedReplace(['vtd-rid-replace-blocks']).ctx)).toEqual([]);
  });

  test('fires when the failed replace took the RID entry away (mainline: the finding)', () => {
    expect(failedCall.check(failedReplace([]).ctx)[0]?.message).toMatch(/replacePasid\(dev0, hwpt 1\) failed with ENOMEM but changed: dev0 PASID entry 0 P → \(none\)/);
  });

  test('fires on a crafted pasid_array change behind a failed replace', () => {
    const { p, ctx } = failedReplace(['vtd-rid-replace-blocks']);
    p.world.devices[0]!.group.pasid_array.set(3, { kind: 'reserved' });
    expect(failedCall.check(ctx)[0]?.message).toMatch(/group 0 pasid_array 0:domain → group 0 pasid_array 0:domain,3:reserved/);
  });
});
