/**
 * B13, b5bf7778b722 (v6.8-rc5): SVA bind installed the CD on every master of the domain under
 * devices_lock, and a two-level CD table's missing leaf was allocated there with GFP_KERNEL:
 * might_sleep's "sleeping function called from invalid context" (I-SPLAT). A linear CD table
 * (at most 1024 SSIDs) has no leaf to allocate, so the bug needs an SMMU with more than
 * 10 SSID bits, which the generated topologies (2-4 PASID bits) never have.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { lockdep_held } from '../../src/impl/core/locking.js';
import { schedOf } from '../../src/impl/core/sched.js';
import { defaultTopology, type Command, type Topology } from '../../src/shared/index.js';

const linear = defaultTopology('smmuv3');
/** 2^11 SSIDs: a two-level CD table with two 1024-CD leaves. */
const twoLevel: Topology = { ...linear, iommus: linear.iommus.map((u) => ({ ...u, pasidBits: 11 })) };

const hand: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }];
const twoBinds: Command[] = [...hand, { kind: 'bind', dev: 1, mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 }];

const run = (t: Topology, cmds: readonly Command[], fault?: 'B13') => {
  const r = runSequence(t, cmds, fault === undefined ? {} : { fault });
  if (!r.ok) throw new Error(r.error);
  return r.value.session;
};

describe('B13: GFP_KERNEL CD-leaf allocation under devices_lock', () => {
  test('The first bind on a two-level CD table sleeps in atomic context', () => {
    const v = run(twoLevel, hand, 'B13').violation;
    expect(v).toMatchObject({ invariant: 'I-SPLAT', step: 1 });
    expect(v?.message).toMatch(/BUG: sleeping function called from invalid context at arm_smmu_alloc_cd_leaf_table.*holding &smmu_domain->devices_lock/);
  });

  test('Without the fault binds, a shared domain and unbinds are clean and no lock is left held', () => {
    const s = run(twoLevel, twoBinds);
    expect(s.violation).toBeUndefined();
    // devices_lock is a lock object now (src/impl/core/locking.ts): the task's own count.
    expect(schedOf(s.world.kernel).current.atomic).toBe(0);
    expect(lockdep_held(s.world.kernel)).toEqual([]);
  });

  test('With a linear CD table the old logic allocates nothing under the lock', () => {
    expect(run(linear, twoBinds, 'B13').violation).toBeUndefined();
  });

  test('On fixed seeds the search finds it on two-level CD tables, shrunk to the hand-written length', () => {
    for (const seed of [1, 2]) {
      const f = findFault('B13', { platform: 'smmuv3', topology: fc.constant(twoLevel), seed, runs: 30 });
      expect(f.found, `seed ${seed}`).toBe(true);
      expect(f.expected, `seed ${seed}: ${f.invariant}`).toBe(true);
      expect(f.shrunkLength).toBeLessThanOrEqual(hand.length + 1);
    }
  });
});
