/**
 * The key of a paging-structure (VT-d) or walk-cache (SMMUv3) entry: which level's table it
 * points at and the vpn bits above that level (radix.ts levelPrefix). Levels are at most 5, so
 * (prefix, level) packs into prefix * 8 + level, exact below 2^53, and a Map keyed by it stays
 * a Map of numbers on the per-DMA path.
 */
import { levelSpan } from './radix.js';

export const walkKey = (level: number, prefix: number): number => prefix * 8 + level;
export const walkKeyLevel = (key: number): number => key % 8;
export const walkKeyPrefix = (key: number): number => (key - (key % 8)) / 8;

/**
 * Drop the entries whose span meets vpns [first, first + pages). An entry pointing at a
 * level-L table covers 512^L pages (the span of one entry of the level above).
 */
export function dropOverlapping<V>(m: Map<number, V>, first: number, pages: number): void {
  for (const k of m.keys()) {
    const level = walkKeyLevel(k);
    const span = levelSpan(level + 1);
    const lo = walkKeyPrefix(k) * span;
    if (lo < first + pages && first < lo + span) m.delete(k);
  }
}
