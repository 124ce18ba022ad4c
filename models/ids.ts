/** Arbitraries of ids in range for one topology; every value they give names a real object. */
import fc from 'fast-check';
import type { Topology } from '../src/shared/index.js';

const below = (n: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: Math.max(0, n - 1) });

export const devId = (t: Topology): fc.Arbitrary<number> => below(t.devices.length);
export const mmId = (t: Topology): fc.Arbitrary<number> => below(t.mms);
export const pageId = (t: Topology): fc.Arbitrary<number> => below(t.pages);
export const kpageId = (t: Topology): fc.Arbitrary<number> => below(t.kpages);

/**
 * A page range [first, first+count) inside the mm: ranges of 1–3 pages mostly (so mmaps leave
 * room for more), sometimes the whole tail. Clamped rather than filtered, so none is wasted.
 */
export const pageRange = (t: Topology): fc.Arbitrary<{ first: number; count: number }> =>
  fc.tuple(pageId(t), fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(t.pages) }))
    .map(([first, count]) => ({ first, count: Math.min(count, t.pages - first) }));
