import { levelPrefix } from '../radix.js';
import { dropOverlapping, walkKey, walkKeyLevel, walkKeyPrefix } from '../walkKey.js';
import { didPasidKey } from './iotlb.js';

const PASID_SPACE = 2 ** 20;

/** A PSC entry packed in one number: next-table frame, and the W and U bits combined down to it. */
export const PSC_W = 2;
export const PSC_U = 1;
export const pscPack = (frame: number, flags: number): number => frame * 4 + flags;
export const pscFrame = (packed: number): number => Math.floor(packed / 4);
export const pscFlags = (packed: number): number => packed % 4;

/**
 * The first-level paging-structure cache: non-leaf entries keyed by (DID, PASID, level,
 * levelPrefix) → the frame of the level-`level` table that translates the vpn, with the R/W
 * and U/S bits combined along the path above it (as IA-32 paging-structure caches keep them).
 * Level 1 caches the pointer to a PTE table (the PDE cache), level 4 the pointer to a PDPT
 * (the PML5E cache on a 5-level walk). Entries are cached whatever the final access rights, so
 * a faulting walk still leaves them behind: a freed table reached through one of them is a
 * use-after-free (CVE-2025-71202).
 */
export class PagingStructureCache {
  private readonly map = new Map<number, Map<number, number>>();

  /** The deepest cached table for vpn: {level, packed}, or undefined. */
  deepest(did: number, pasid: number, vpn: number, maxLevel: number): { level: number; packed: number } | undefined {
    const m = this.map.get(didPasidKey(did, pasid));
    if (m === undefined) return undefined;
    for (let level = 1; level <= maxLevel; level++) {
      const packed = m.get(walkKey(level, levelPrefix(vpn, level)));
      if (packed !== undefined) return { level, packed };
    }
    return undefined;
  }

  fill(did: number, pasid: number, vpn: number, level: number, packed: number): void {
    const k = didPasidKey(did, pasid);
    let m = this.map.get(k);
    if (m === undefined) this.map.set(k, (m = new Map()));
    m.set(walkKey(level, levelPrefix(vpn, level)), packed);
  }

  invalidatePasid(did: number, pasid: number): void {
    this.map.delete(didPasidKey(did, pasid));
  }

  /** Entries whose span overlaps vpns [first, first + pages). */
  invalidateRange(did: number, pasid: number, first: number, pages: number): void {
    const m = this.map.get(didPasidKey(did, pasid));
    if (m !== undefined) dropOverlapping(m, first, pages);
  }

  /** Entries sorted by (DID, PASID, level, prefix): for invariants and traces. */
  entries(): { did: number; pasid: number; level: number; prefix: number; frame: number }[] {
    const out: { did: number; pasid: number; level: number; prefix: number; frame: number }[] = [];
    for (const k of [...this.map.keys()].sort((a, b) => a - b)) {
      const m = this.map.get(k)!;
      const keys = [...m.keys()].sort((a, b) => walkKeyLevel(a) - walkKeyLevel(b) || a - b);
      for (const e of keys) {
        out.push({
          did: Math.floor(k / PASID_SPACE), pasid: k % PASID_SPACE,
          level: walkKeyLevel(e), prefix: walkKeyPrefix(e), frame: pscFrame(m.get(e)!),
        });
      }
    }
    return out;
  }
}
