/**
 * B11, "Fix size calculation in arm_smmu_mm_invalidate_range()" (~v5.18-rc): size = end -
 * start + 1 with an exclusive end. Without RANGE_INV the loop ends one page late (an over-wide
 * range, I14); with RANGE_INV the range commands stop one byte short of `end` and iova += 0
 * for ever (UBSAN's __ffs(0) shift, then the soft-lockup watchdog).
 */
import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology, type Command } from '../../src/shared/index.js';

const topology = defaultTopology('smmuv3'); // smmu0 (devices 0, 1) has RANGE_INV, smmu1 not

const downgrade = (dev: number): Command[] => [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev, mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'mprotect', mm: 0, page: 0, prot: 'r' },
];
// Two adjacent present pages whose table goes: a 2-page range, not flush_tlb_mm.
const twoPages: Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'mmap', mm: 0, first: 1, count: 3, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 3, write: false },
  { kind: 'munmap', mm: 0, first: 2, count: 2 },
];

const violation = (cmds: readonly Command[], fault?: 'B11') => {
  const r = runSequence(topology, cmds, fault === undefined ? {} : { fault });
  if (!r.ok) throw new Error(r.error);
  return r.value.session.violation;
};

describe('B11: invalidation size end - start + 1', () => {
  test('Without RANGE_INV a one-page mprotect invalidates a second page: I14, and I12 sees the ATC_INV twice as wide', () => {
    const v = violation(downgrade(2), 'B11');
    expect(v).toMatchObject({ step: 4 });
    const s = openSession(topology, { fault: 'B11' });
    let all: readonly { invariant: string; message: string }[] = [];
    for (const c of downgrade(2)) all = checkedStep(s, c);
    expect(all.find((x) => x.invariant === 'I14')?.message).toMatch(/beyond the range's last page/);
    expect(all.find((x) => x.invariant === 'I12')?.message).toMatch(/ATC_INV of 2\^1 pages .* aligned span is 2\^0/);
  });

  test('With RANGE_INV a two-page range loops for ever: the UBSAN shift report and the watchdog', () => {
    const v = violation(twoPages, 'B11');
    expect(v).toMatchObject({ invariant: 'I-SPLAT', step: 4 });
    expect(v?.message).toMatch(/UBSAN: shift-out-of-bounds .* shift exponent 64/);
  });

  test('Without the fault both sequences are clean', () => {
    expect(violation(downgrade(2))).toBeUndefined();
    expect(violation(twoPages)).toBeUndefined();
  });

  test('On fixed seeds the search finds it with an expected invariant, shrunk to the hand-written length', () => {
    for (const seed of [1, 2]) {
      const f = findFault('B11', { platform: 'smmuv3', topology: 'default', seed, runs: 50 });
      expect(f.found, `seed ${seed}`).toBe(true);
      expect(f.expected, `seed ${seed}: ${f.invariant}`).toBe(true);
      expect(f.shrunkLength).toBeLessThanOrEqual(downgrade(2).length + 1);
    }
  });
});
