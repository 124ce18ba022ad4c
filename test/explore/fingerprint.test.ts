import { describe, expect, test } from 'vitest';
import { DEFAULT_SCOPE, fingerprint, scopeTopology } from '../../src/explore/index.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { type Mutex, mutex_init, mutex_lock, mutex_unlock } from '../../src/impl/core/locking.js';
import { sync } from '../../src/impl/core/sched.js';
import type { Kernel } from '../../src/impl/core/types.js';
import { arm_smmu_asid_xa } from '../../src/impl/smmuv3/smmu.js';
import type { Command } from '../../src/shared/index.js';
import { bind, dma, grace, mmap, spawn, touch } from '../commands.js';

const t = (() => {
  const r = scopeTopology('vtd', DEFAULT_SCOPE);
  if (!r.ok) throw new Error(r.error);
  return r.value;
})();

/** Take and release lock objects as a task of the world would (the sequential path). */
const lock = (k: Kernel, m: Mutex): void => sync(k, mutex_lock(m));
const unlock = (k: Kernel, m: Mutex): void => sync(k, mutex_unlock(m));

const after = (cmds: readonly Command[]) => {
  const s = openSession(t);
  for (const c of cmds) expect(checkedStep(s, c)).toEqual([]);
  return s;
};

describe('State fingerprints', () => {
  test('A command that changes nothing leaves the fingerprint as it was', () => {
    expect(fingerprint(after([spawn(0), grace, bind(0, 0)]))).toBe(fingerprint(after([spawn(0), bind(0, 0)])));
  });

  test('Hardware state counts: a DMA that fills the IOTLB and the ATC changes it', () => {
    const base = [spawn(0), bind(0, 0), mmap(0, 0, 1), touch(0, 0)];
    const before = fingerprint(after(base));
    expect(fingerprint(after([...base, dma(0, 0, 0)]))).not.toBe(before);
  });

  test('Per-kernel state outside the object graph counts: a lock order lockdep learned changes it', () => {
    const s = after([spawn(0)]);
    const k = s.world.kernel;
    const [a, b] = [mutex_init(k, 'test_outer'), mutex_init(k, 'test_inner')];
    const before = fingerprint(s);
    lock(k, a);
    lock(k, b);
    unlock(k, b);
    unlock(k, a);
    expect(fingerprint(s)).not.toBe(before);
  });

  test('A lockdep record that holds nothing is no state: a lock taken alone leaves the fingerprint as it was', () => {
    // lockdep makes its record on the first lock; before, such a state was counted twice.
    const s = after([spawn(0)]);
    const k = s.world.kernel;
    const m = mutex_init(k, 'test_alone');
    const before = fingerprint(s);
    lock(k, m);
    unlock(k, m);
    expect(fingerprint(s)).toBe(before);
  });

  test("A driver's own per-kernel state counts: an ASID leaked in SMMUv3's arm_smmu_asid_xa changes it", () => {
    const st = scopeTopology('smmuv3', DEFAULT_SCOPE);
    if (!st.ok) throw new Error(st.error);
    const s = openSession(st.value);
    for (const c of [spawn(0), bind(0, 0)]) expect(checkedStep(s, c)).toEqual([]);
    const before = fingerprint(s);
    // What a teardown that forgets xa_erase leaves behind: an index no domain of the world holds.
    arm_smmu_asid_xa(s.world.kernel).xa_alloc({} as never, 1, 15);
    expect(fingerprint(s)).not.toBe(before);
  });

  test('Event counters are statistics, not state: bumping one leaves it as it was', () => {
    const s = after([spawn(0), bind(0, 0)]);
    const before = fingerprint(s);
    s.world.iommus[0]!.unit.counters.bump('qi.piotlb');
    expect(fingerprint(s)).toBe(before);
  });

  test('Which mm a command names counts (no symmetry folded into the hash)', () => {
    expect(fingerprint(after([spawn(0)]))).not.toBe(fingerprint(after([spawn(1)])));
  });
});
