/**
 * B12, 12f78021973a (2025): the SVA domain's pgsize_bitmap stayed 0, so on a RANGE_INV SMMU
 * __arm_smmu_tlb_inv_range shifted by __ffs(0) = 64 (UBSAN's report, as it was found) and
 * encoded TG = 64K, a granule this SMMU does not implement: the command is a skipped
 * CERROR_ILL and the stale TLB entry survives the invalidation (I6).
 */
import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import type { ArmSmmuDevice } from '../../src/impl/smmuv3/structs.js';
import { defaultTopology, type Command, type FaultId } from '../../src/shared/index.js';

const topology = defaultTopology('smmuv3'); // smmu0 (devices 0, 1) has RANGE_INV

const hand: Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'mprotect', mm: 0, page: 0, prot: 'r' },
];
// The same with the TLB filled first, to see the hardware effect.
const cached: Command[] = [...hand.slice(0, 4), { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, hand[4]!];

const lastStep = (cmds: readonly Command[], fault?: FaultId) => {
  const s = openSession(topology, fault === undefined ? {} : { fault });
  let ids: string[] = [];
  for (const c of cmds) ids = checkedStep(s, c).map((v) => v.invariant);
  return { ids, unit: (s.world.iommus[0] as ArmSmmuDevice).unit };
};

describe('B12: pgsize_bitmap = 0 for SVA domains', () => {
  test('The hand-written sequence trips UBSAN in the range TLBI', () => {
    const r = runSequence(topology, hand, { fault: 'B12' });
    const v = r.ok ? r.value.session.violation : undefined;
    expect(v).toMatchObject({ invariant: 'I-SPLAT', step: 4 });
    expect(v?.message).toMatch(/UBSAN: shift-out-of-bounds in __arm_smmu_tlb_inv_range: num_pages = size >> tg: shift exponent 64/);
  });

  test('The 64K-granule range command is a skipped CERROR_ILL, and the cached translation stays: I6', () => {
    const { ids, unit } = lastStep(cached, 'B12');
    expect(ids).toEqual(expect.arrayContaining(['I-SPLAT', 'I6']));
    expect(unit.cmdqErrors).toHaveLength(1);
    expect(unit.cmdqErrors[0]).toMatchObject({ kind: 'TLBI_NH_VA', tg: 3, num: 0, scale: 12 });
  });

  test('Without the fault both sequences are clean and no command errs', () => {
    for (const cmds of [hand, cached]) {
      const r = runSequence(topology, cmds);
      expect(r.ok && r.value.session.violation).toBeUndefined();
    }
    const { ids, unit } = lastStep(cached);
    expect(ids).toEqual([]);
    expect(unit.cmdqErrors).toEqual([]);
  });

  test('On fixed seeds the search finds it with an expected invariant, shrunk to the hand-written length', () => {
    for (const seed of [1, 2]) {
      const f = findFault('B12', { platform: 'smmuv3', topology: 'default', seed, runs: 50 });
      expect(f.found, `seed ${seed}`).toBe(true);
      expect(f.expected, `seed ${seed}: ${f.invariant}`).toBe(true);
      expect(f.shrunkLength).toBeLessThanOrEqual(hand.length + 1);
    }
  });
});
