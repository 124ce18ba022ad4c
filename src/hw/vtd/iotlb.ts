import type { Translation } from '../iommu.js';

export type CachedTranslation = Translation & { readonly ok: true };

const PASID_SPACE = 2 ** 20;
/** (DID, PASID) packed into one exact number: DID < 2^16, PASID < 2^20. */
export const didPasidKey = (did: number, pasid: number): number => did * PASID_SPACE + pasid;

/**
 * The IOTLB: first-level leaf translations keyed by (DID, PASID, vpn), with the write
 * permission the walk found. Entries are the Translation objects themselves, so a hit returns
 * without allocating. Every entry here was made by a first-level (PASID-tagged) walk: the
 * second-stage descriptors (IOTLB DSI/PSI) never match them.
 */
export class Iotlb {
  private readonly map = new Map<number, Map<number, CachedTranslation>>();

  lookup(did: number, pasid: number, vpn: number): CachedTranslation | undefined {
    return this.map.get(didPasidKey(did, pasid))?.get(vpn);
  }

  fill(did: number, pasid: number, vpn: number, t: CachedTranslation): void {
    const k = didPasidKey(did, pasid);
    let m = this.map.get(k);
    if (m === undefined) this.map.set(k, (m = new Map()));
    m.set(vpn, t);
  }

  drop(did: number, pasid: number, vpn: number): void {
    this.map.get(didPasidKey(did, pasid))?.delete(vpn);
  }

  /** PASID-selective: all of (DID, PASID). */
  invalidatePasid(did: number, pasid: number): void {
    this.map.delete(didPasidKey(did, pasid));
  }

  /** Page-selective-within-PASID: vpns in [first, first + pages). */
  invalidateRange(did: number, pasid: number, first: number, pages: number): void {
    const m = this.map.get(didPasidKey(did, pasid));
    if (m === undefined) return;
    for (const vpn of m.keys()) if (vpn >= first && vpn - first < pages) m.delete(vpn);
  }

  /** Entries sorted by (DID, PASID, vpn): for invariants and traces. */
  entries(): { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] {
    const out: { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] = [];
    for (const k of [...this.map.keys()].sort((a, b) => a - b)) {
      const m = this.map.get(k)!;
      for (const vpn of [...m.keys()].sort((a, b) => a - b)) {
        const t = m.get(vpn)!;
        out.push({ did: Math.floor(k / PASID_SPACE), pasid: k % PASID_SPACE, vpn, frame: t.frame, write: t.write });
      }
    }
    return out;
  }
}
