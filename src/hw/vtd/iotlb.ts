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
 *
 * Nested (PGTT = 011b) entries hold the combined IOVA → host-frame translation, tagged (DID,
 * PASID) like first-level ones, so a P_IOTLB of the guest's invalidation matches them; they
 * are kept apart because the second-stage descriptors match them too: an IOTLB DSI or PSI
 * "invalidates IOTLB entries caching first-stage or nested mappings associated with the
 * specified domain-id" whatever the address (VT-d spec 6.5.2.3, as QEMU's intel_iommu.c
 * vtd_hash_remove_by_page quotes it: the unit cannot tell which IOVAs a stage-2 change of
 * one GPA reaches), which is how the host's flush of the parent reaches the guest's entries.
 * The same sentence names first-stage (PGTT = 001b) entries, which this model keeps out of the
 * DSI/PSI reach (B07 relies on that): a known departure, left as it was.
 */
const dropRange = (m: Map<number, CachedTranslation> | undefined, first: number, pages: number): void => {
  if (m === undefined) return;
  for (const vpn of m.keys()) if (vpn >= first && vpn - first < pages) m.delete(vpn);
};

export class Iotlb {
  private readonly map = new Map<number, Map<number, CachedTranslation>>();
  private readonly sl = new Map<number, Map<number, CachedTranslation>>();
  private readonly nested = new Map<number, Map<number, CachedTranslation>>();

  nestedLookup(did: number, pasid: number, vpn: number): CachedTranslation | undefined {
    return this.nested.get(didPasidKey(did, pasid))?.get(vpn);
  }

  nestedFill(did: number, pasid: number, vpn: number, t: CachedTranslation): void {
    const k = didPasidKey(did, pasid);
    let m = this.nested.get(k);
    if (m === undefined) this.nested.set(k, (m = new Map()));
    m.set(vpn, t);
  }

  nestedDrop(did: number, pasid: number, vpn: number): void {
    this.nested.get(didPasidKey(did, pasid))?.delete(vpn);
  }

  /** IOTLB DSI or PSI: every nested entry of the DID, on every PASID. */
  private invalidateNestedDomain(did: number): void {
    for (const k of this.nested.keys()) if (Math.floor(k / PASID_SPACE) === did) this.nested.delete(k);
  }

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
    this.invalidateNestedDomain(did);
  }

  /** IOTLB invalidate, page-selective: second-stage entries of the DID in [first, first + pages). */
  invalidateDomainRange(did: number, first: number, pages: number): void {
    this.invalidateNestedDomain(did);
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
    this.nested.delete(didPasidKey(did, pasid));
  }

  /** Page-selective-within-PASID: vpns in [first, first + pages). */
  invalidateRange(did: number, pasid: number, first: number, pages: number): void {
    const k = didPasidKey(did, pasid);
    dropRange(this.map.get(k), first, pages);
    dropRange(this.nested.get(k), first, pages);
  }

  /** Entries sorted by (DID, PASID, vpn): for invariants and traces. */
  entries(): { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] {
    return Iotlb.sorted(this.map);
  }

  /** Nested entries sorted by (DID, PASID, vpn). */
  nestedEntries(): { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] {
    return Iotlb.sorted(this.nested);
  }

  private static sorted(map: ReadonlyMap<number, ReadonlyMap<number, CachedTranslation>>): { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] {
    const out: { did: number; pasid: number; vpn: number; frame: number; write: boolean }[] = [];
    for (const k of [...map.keys()].sort((a, b) => a - b)) {
      const m = map.get(k)!;
      for (const vpn of [...m.keys()].sort((a, b) => a - b)) {
        const t = m.get(vpn)!;
        out.push({ did: Math.floor(k / PASID_SPACE), pasid: k % PASID_SPACE, vpn, frame: t.frame, write: t.write });
      }
    }
    return out;
  }
}
