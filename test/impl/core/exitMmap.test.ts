/**
 * exit_mmap as a task: its locks, and what its notifier release meets when an unbind of the
 * same mm runs concurrently.
 */
import { describe, expect, test } from 'vitest';
import { checkedGroup, checkedStep, exploreGroup, openSession } from '../../../src/harness/index.js';
import { lockdep_deps } from '../../../src/impl/core/locking.js';
import { type Command, defaultTopology } from '../../../src/shared/index.js';

const PREFIX: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true }, { kind: 'touch', mm: 0, page: 1, write: true },
  { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
];

describe('exit_mmap', () => {
  test('vtd: sequentially, release runs with no mmap_lock held, the unmap and free under it', () => {
    const s = openSession(defaultTopology('vtd'));
    for (const c of PREFIX) expect(checkedStep(s, c)).toEqual([]);
    expect(checkedStep(s, { kind: 'exit', mm: 0 })).toEqual([]);
    // Nothing the release takes (the driver's locks) was learned under the mmap_lock: only the
    // prefix's faults' page-table lock.
    expect([...(lockdep_deps(s.world.kernel).get('&mm->mmap_lock') ?? [])]).toEqual(['&mm->page_table_lock']);
  });

  /**
   * A kernel finding, as the v7.0-rc5 port has it (arm-smmu-v3.c: arm_smmu_blocking_set_dev_pasid;
   * arm-smmu-v3-sva.c: arm_smmu_mm_release). The unbind clears the CD (arm_smmu_clear_cd, under
   * arm_smmu_asid_lock only) and only afterwards takes the master_domain off
   * smmu_domain->devices (arm_smmu_remove_master_domain, under devices_lock). A release that
   * takes devices_lock in between still finds the master and writes its quiet CD (V=1, EPD0)
   * into the slot just cleared: after both, the device has a valid CD at an SSID nothing
   * attaches, tagged with the freed domain's ASID. One preemption of the unbind, after its
   * ATC invalidation, shows it.
   */
  test('smmuv3: a release between the unbind\'s clear_cd and its remove_master_domain leaves a quiet CD at a detached PASID (I5)', () => {
    const unbindThenExit: Command[] = [{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 }];
    // Strictly: the run reports it as the known finding smmuv3-release-vs-detach-cd (test/regression).
    const r = exploreGroup(defaultTopology('smmuv3'), PREFIX, unbindThenExit, 1, 1000, { strict: true });
    // The unbind's points count from &uacce->mutex, the driver's lock around it.
    expect(r).toEqual({ schedules: 20, complete: false, found: { switches: [{ at: 13, to: 1 }] }, invariant: 'I5' });
    const s = openSession(defaultTopology('smmuv3'), { strict: true });
    for (const c of PREFIX) expect(checkedStep(s, c)).toEqual([]);
    const found = checkedGroup(s, unbindThenExit, { scheduler: 'exhaustive', seed: 0, switches: [{ at: 13, to: 1 }] });
    expect(found.map((v) => `${v.invariant}: ${v.message}`)).toEqual(['I5: dev0 has a hardware entry at PASID 1 that its group does not attach']);
  });

  test('smmuv3: with no preemption (each member runs until it blocks or ends) the same group is clean', () => {
    for (const group of [[{ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'exit', mm: 0 }], [{ kind: 'exit', mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }]] as Command[][]) {
      const r = exploreGroup(defaultTopology('smmuv3'), PREFIX, group, 0, 10);
      expect(r).toMatchObject({ complete: true, found: undefined, invariant: undefined });
      expect(r.schedules).toBeGreaterThan(0);
    }
  });
});
