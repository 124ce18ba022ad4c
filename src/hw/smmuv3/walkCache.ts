import { levelSpan } from '../radix.js';

/** Levels are at most 5, so (prefix, level) packs into prefix * 8 + level, exact below 2^53. */
const key = (level: number, prefix: number): number => prefix * 8 + level;

/**
 * The walk cache: non-leaf entries keyed by (ASID, level, levelPrefix) → the frame of the
 * level-`level` table that the walk for any vpn with that prefix reaches. A stale entry makes
 * the next walk read a freed (and perhaps reused) table page: the CVE-2025-71202 shape.
 */
export class WalkCache {
  private readonly byAsid = new Map<number, Map<number, number>>();

  lookup(asid: number, level: number, prefix: number): number | undefined {
    return this.byAsid.get(asid)?.get(key(level, prefix));
  }

  fill(asid: number, level: number, prefix: number, table: number): void {
    let m = this.byAsid.get(asid);
    if (m === undefined) this.byAsid.set(asid, (m = new Map()));
    m.set(key(level, prefix), table);
  }

  invalidateAsid(asid: number): void {
    this.byAsid.delete(asid);
  }

  /** Drop the ASID's entries whose span (512^level pages) meets pages [first, first + pages). */
  invalidateRange(asid: number, first: number, pages: number): void {
    const m = this.byAsid.get(asid);
    if (m === undefined) return;
    for (const k of m.keys()) {
      const level = k % 8;
      const span = levelSpan(level + 1);
      const lo = ((k - level) / 8) * span;
      if (lo < first + pages && first < lo + span) m.delete(k);
    }
  }

  /** Entries sorted by (ASID, level, prefix). */
  entries(): { asid: number; level: number; prefix: number; table: number }[] {
    const out: { asid: number; level: number; prefix: number; table: number }[] = [];
    for (const asid of [...this.byAsid.keys()].sort((a, b) => a - b)) {
      const m = this.byAsid.get(asid)!;
      const rows = [...m.entries()].map(([k, table]) => ({ asid, level: k % 8, prefix: (k - (k % 8)) / 8, table }));
      rows.sort((a, b) => a.level - b.level || a.prefix - b.prefix);
      out.push(...rows);
    }
    return out;
  }
}
