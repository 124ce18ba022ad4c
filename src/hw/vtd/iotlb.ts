import type { Translation } from '../iommu.js';

export type CachedTranslation = Translation & { readonly ok: true };

const PASID_SPACE = 2 ** 20;
/** (DID, PASID) packed into one exact number: DID < 2^16, PASID < 2^20. */
export const didPasidKey = (did: number, pasid: number): number => did * PASID_SPACE + pasid;

/**
 * The IOTLB: first-level leaf translations keyed by (DID, PASID, vpn), with the write
 * permission the walk found. Entries are the Translation objects themselves, so a hit returns
 * without allocating. First-level (and nested) entries are tagged (DID, PASID) and only the
 * PASID-based descriptors (P_IOTLB) match them; second-stage-only entries are tagged by DID
 * alone (VT-d spec 6.2.1: their translation does not depend on the PASID) and only the IOTLB
 * DSI/PSI descriptors match them. That split is what B06 and B07 get wrong in opposite ways.
 */
export class Iotlb {
  private readonly map = new Map<number, Map<number, CachedTranslation>>();
  private readonly sl = new Map<number, Map<number, CachedTranslation>>();

  slLookup(did: number, vpn: number): CachedTranslation | undefined {
    return this.sl.get(did)?.get(vpn);
  }

  slFill(did: number, vpn: number, t: CachedTranslation): void {
    let m = this.sl.get(did);
    if (m === undefined) this.sl.set(did, (m = new Map()));
    m.set(vpn, t);
  }

  slDrop(did: number, vpn: number): void {
    this.sl.get(did)?.delete(vpn);
  }

  /** IOTLB invalidate, domain-selective: every second-stage entry of the DID. */
  invalidateDomain(did: number): void {
    this.sl.delete(did);
  }

  /** IOTLB invalidate, page-selective: second-stage entries of the DID in [first, first + pages). */
  invalidateDomainRange(did: number, first: number, pages: number): void {
    const m = this.sl.get(did);
    if (m === undefined) return;
    for (const vpn of m.keys()) if (vpn >= first && vpn - first < pages) m.delete(vpn);
  }

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
