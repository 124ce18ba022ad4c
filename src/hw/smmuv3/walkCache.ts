import { dropOverlapping, walkKey, walkKeyLevel, walkKeyPrefix } from '../walkKey.js';

/**
 * The walk cache: non-leaf entries keyed by (ASID, level, levelPrefix) → the frame of the
 * level-`level` table that the walk for any vpn with that prefix reaches. A stale entry makes
 * the next walk read a freed (and perhaps reused) table page: the CVE-2025-71202 shape.
 */
export class WalkCache {
  private readonly byAsid = new Map<number, Map<number, number>>();

  lookup(asid: number, level: number, prefix: number): number | undefined {
    return this.byAsid.get(asid)?.get(walkKey(level, prefix));
  }

  fill(asid: number, level: number, prefix: number, table: number): void {
    let m = this.byAsid.get(asid);
    if (m === undefined) this.byAsid.set(asid, (m = new Map()));
    m.set(walkKey(level, prefix), table);
  }

  invalidateAsid(asid: number): void {
    this.byAsid.delete(asid);
  }

  /** Every entry (TLBI_NH_ALL of the VMID they carry). */
  invalidateAll(): void {
    this.byAsid.clear();
  }

  /** Drop the ASID's entries whose span (512^level pages) meets pages [first, first + pages). */
  invalidateRange(asid: number, first: number, pages: number): void {
    const m = this.byAsid.get(asid);
    if (m !== undefined) dropOverlapping(m, first, pages);
  }

  /** Entries sorted by (ASID, level, prefix). */
  entries(): { asid: number; level: number; prefix: number; table: number }[] {
    const out: { asid: number; level: number; prefix: number; table: number }[] = [];
    for (const asid of [...this.byAsid.keys()].sort((a, b) => a - b)) {
      const m = this.byAsid.get(asid)!;
      const rows = [...m.entries()].map(([k, table]) => ({ asid, level: walkKeyLevel(k), prefix: walkKeyPrefix(k), table }));
      rows.sort((a, b) => a.level - b.level || a.prefix - b.prefix);
      out.push(...rows);
    }
    return out;
  }
}
