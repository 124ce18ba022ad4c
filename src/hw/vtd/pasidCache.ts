import type { PasidEntry } from './pasidTable.js';

const PASID_SPACE = 2 ** 20;
const key = (sid: number, pasid: number): number => sid * PASID_SPACE + pasid;

/**
 * The PASID cache: snapshots of present PASID-table entries keyed by (source id, PASID), each
 * tagged with the DID it was fetched with. Only present entries are cached (a fault is never
 * cached), so an entry cleared in memory stays usable here until a PASID-cache invalidation.
 */
export class PasidCache {
  private readonly map = new Map<number, PasidEntry>();

  lookup(sid: number, pasid: number): PasidEntry | undefined {
    return this.map.get(key(sid, pasid));
  }

  fill(sid: number, pasid: number, entry: PasidEntry): void {
    this.map.set(key(sid, pasid), entry);
  }

  /** Domain-selective: every entry tagged with `did`. */
  invalidateDomain(did: number): void {
    for (const [k, e] of this.map) if (e.did === did) this.map.delete(k);
  }

  /** PASID-selective-within-domain: entries tagged with `did` for `pasid`, on any source id. */
  invalidatePasid(did: number, pasid: number): void {
    for (const [k, e] of this.map) if (e.did === did && k % PASID_SPACE === pasid) this.map.delete(k);
  }

  /** Cached snapshots sorted by (sid, PASID): for invariants and traces. */
  entries(): { sid: number; pasid: number; entry: PasidEntry }[] {
    return [...this.map.keys()].sort((a, b) => a - b).map((k) => ({
      sid: Math.floor(k / PASID_SPACE), pasid: k % PASID_SPACE, entry: this.map.get(k)!,
    }));
  }

  get size(): number {
    return this.map.size;
  }
}
