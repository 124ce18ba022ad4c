import { describe, expect, test } from 'vitest';
import { runSequence } from '../../../src/harness/index.js';
import { runChecked } from '../../../src/harness/group.js';
import { explorePreemptionBounded } from '../../../src/sched/exhaustive.js';
import { dev_iommu_priv_get } from '../../../src/impl/smmuv3/structs.js';
import { defaultTopology } from '../../../src/shared/index.js';
import type { Command, FindingName } from '../../../src/shared/index.js';

/**
 * smmuv3-release-vs-detach-cd, the variant inside the clear itself: the last unbind's
 * arm_smmu_clear_cd (under arm_smmu_asid_lock) and arm_smmu_mm_release's quiet CD (under
 * devices_lock) write the same CD at once. Each counts used_ssids from the CD it read first: the
 * clear takes one off (valid → invalid), the release, reading the half-cleared CD as invalid,
 * adds one back. The CD ends invalid, used_ssids at 1: the STE never goes back to bypass.
 */
const t = defaultTopology('smmuv3');
const PREFIX: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }];
const GROUP: Command[] = [{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 }];

/** Every schedule of the group with one preemption: what each left in dev0's used_ssids and whether the finding was noted. */
const explore = (fixes: readonly FindingName[]) => {
  const outcomes: { used: number; noted: boolean }[] = [];
  const r = explorePreemptionBounded((policy) => {
    const pre = runSequence(t, PREFIX, { fixes });
    if (!pre.ok) throw new Error(pre.error);
    const s = pre.value.session;
    const c = runChecked(s, GROUP, policy, { scheduler: 'exhaustive', seed: 0 });
    outcomes.push({
      used: dev_iommu_priv_get(s.world.devices[0]!).cd_table.used_ssids,
      noted: s.world.kernel.findingHits.includes('smmuv3-release-vs-detach-cd'),
    });
    return { run: c.run!, bad: false };
  }, 1, 5_000);
  expect(r.complete).toBe(true);
  return outcomes;
};

describe('two writers of one CD (finding smmuv3-release-vs-detach-cd)', () => {
  test('mainline: some schedule leaves used_ssids above 0 after the last unbind, and each such schedule notes the finding', () => {
    const outcomes = explore([]);
    const lost = outcomes.filter((o) => o.used !== 0);
    expect(lost.length).toBeGreaterThan(0);
    expect(lost.every((o) => o.noted)).toBe(true);
    expect(outcomes.some((o) => !o.noted)).toBe(true);
  });

  test('with the proposed fix (the clear under devices_lock) every schedule ends at 0 and none notes it', () => {
    const outcomes = explore(['smmuv3-release-vs-detach-cd']);
    expect(outcomes.length).toBeGreaterThan(2);
    expect(outcomes.every((o) => o.used === 0 && !o.noted)).toBe(true);
  });
});
