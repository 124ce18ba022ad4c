/**
 * B10, d5afb4b47e13 (v6.6-rc4): without RANGE_INV and before CMDQ_MAX_TLBI_OPS, every page of
 * an invalidation was one TLBI_NH_VA. On arm64 a munmap that frees a page table reaches the
 * SMMU as flush_tlb_mm's (0, ULONG_MAX): 2^52 per-page commands, the command-queue soft lockup.
 */
import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { coreOf } from '../../src/impl/index.js';
import { SOFTLOCKUP_CMDS } from '../../src/impl/smmuv3/inv.js';
import { defaultTopology, type Command, type FaultId } from '../../src/shared/index.js';

const topology = defaultTopology('smmuv3'); // smmu1 (devices 2, 3) has no RANGE_INV

/** The invariants the last command breaks, all of them, and the kernel log. */
const failing = (cmds: readonly Command[], fault?: FaultId): { ids: string[]; log: readonly string[] } => {
  const s = openSession(topology, fault === undefined ? {} : { fault });
  let ids: string[] = [];
  for (const c of cmds) ids = checkedStep(s, c).map((v) => v.invariant);
  return { ids, log: coreOf(s.world.kernel).warnings };
};

// The shortest by hand: a present page, bound, and a munmap that frees its page table.
const hand: Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 2, mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'munmap', mm: 0, first: 0, count: 1 },
];

describe('B10: per-page TLBIs without CMDQ_MAX_TLBI_OPS', () => {
  test('The hand-written sequence soft-locks the command queue: I12 counts the TLBIs, the watchdog splats', () => {
    const r = runSequence(topology, hand, { fault: 'B10' });
    expect(r.ok && r.value.session.violation?.step).toBe(hand.length - 1);
    const { ids, log } = failing(hand, 'B10');
    expect(ids).toContain('I12');
    expect(ids).toContain('I-SPLAT');
    expect(log.some((w) => w.startsWith(`watchdog: BUG: soft lockup`) && w.includes(`${SOFTLOCKUP_CMDS} TLBI_NH_VA`))).toBe(true);
  });

  test('Without the fault the same sequence is clean: the range becomes one TLBI by ASID', () => {
    const r = runSequence(topology, hand);
    expect(r.ok && r.value.session.violation).toBeUndefined();
    expect(failing(hand).log).toEqual([]);
  });

  test('On fixed seeds the search finds it with an expected invariant, shrunk to the hand-written length', () => {
    for (const seed of [1, 2]) {
      const f = findFault('B10', { platform: 'smmuv3', topology: 'default', seed, runs: 50 });
      expect(f.found, `seed ${seed}`).toBe(true);
      expect(f.expected, `seed ${seed}: ${f.invariant}`).toBe(true);
      expect(f.shrunkLength).toBeLessThanOrEqual(hand.length + 1);
    }
  });
});
