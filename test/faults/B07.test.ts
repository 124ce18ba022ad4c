import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * The shortest reproducer: a present page of a bound mm is unmapped. With B07 the flush sends a
 * second-stage IOTLB descriptor by DID, so the device-TLB invalidation that follows has no
 * P_IOTLB before it (I7), and whatever the IOTLB holds for the page survives (I6).
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'munmap', mm: 0, first: 0, count: 1 },
];
const t = defaultTopology('vtd');

describe('B07: SVA domains flushed with second-stage IOTLB descriptors (b33125296b50, fixed by 04b1b069f151)', () => {
  test('munmap of a bound mm sends no P_IOTLB before the device-TLB invalidation (I7); the correct kernel does', () => {
    const bad = runSequence(t, HAND, { fault: 'B07' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I7', step: 4 });
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });

  test('A translation the IOTLB cached survives the munmap: a stale entry (I6)', () => {
    const cmds: Command[] = [...HAND.slice(0, 4), { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, HAND[4]!];
    const r = runSequence(t, cmds, { fault: 'B07' });
    if (!r.ok) throw new Error(r.error);
    const units = r.value.session.world.iommus;
    expect(r.value.session.violation?.invariant).toMatch(/^I[67]$/);
    const c = units[0]!.unit.counters;
    expect(c.get('qi.iotlb_psi') + c.get('qi.iotlb_dsi')).toBeGreaterThan(0);
    expect(units[0]!.unit.counters.get('qi.piotlb')).toBe(0);
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B07', { platform: 'vtd', seed, runs: 100 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
