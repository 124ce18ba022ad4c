import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * B61 (3141153816bf, "Fix missing PASID in dev TLB flush with cache_tag_flush_all"): from
 * v6.10 to v6.17 the whole-range flush sent each device-TLB tag the invalidation without
 * PASID, which leaves the device's PASID translations in its ATC. x86's batched unmap flush
 * (migration, reclaim) calls the secondary-TLB hook with (0, -1), which takes this path. The
 * shortest reproducer: an ATS device caches a page, the page migrates.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
  { kind: 'migrate', mm: 0, page: 0 },
];
const t = defaultTopology('vtd');

describe('B61: the whole-range flush sends the device-TLB invalidation without the PASID (fixed by 3141153816bf)', () => {
  test('After migration the ATC still maps the old, freed frame (I6); mainline sends the PASID form', () => {
    const bad = runSequence(t, HAND, { fault: 'B61' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I6', step: 5, objects: { dev: 0, pasid: 1 } });
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
  });

  test('The next DMA reads the freed frame with the page\'s token: OBS cannot see it, I-UAF-DMA does', () => {
    const s = openSession(t, { fault: 'B61' });
    for (const c of HAND) checkedStep(s, c);
    const v = checkedStep(s, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    expect(v.map((x) => x.invariant)).toContain('I-UAF-DMA');
    expect(v.map((x) => x.invariant)).not.toContain('OBS');
  });

  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most one step more than by hand', (seed) => {
    const f = findFault('B61', { platform: 'vtd', seed, runs: 300 });
    expect(f).toMatchObject({ found: true, expected: true });
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 1);
  });
});
