import type { Cd } from './cdTable.js';
import type { Ste } from './streamTable.js';

/** SSIDs are at most 20 bits: (sid, ssid) packs into sid * 2^20 + ssid, exact for 16-bit SIDs. */
const cdKey = (sid: number, ssid: number): number => sid * 0x100000 + ssid;

/**
 * The configuration cache: STEs by StreamID and CDs by (StreamID, SSID). Only valid
 * structures are cached (an invalid STE/CD is refetched on every access), so the kernel's
 * CFGI_CD(leaf = false) after a new L1 CD descriptor has nothing extra to drop here.
 * CFGI_STE drops the STE and every CD fetched through it, as QEMU's model does: a CD was
 * reached through the STE's S1ContextPtr, so a new STE makes it meaningless.
 */
export class ConfigCache {
  private readonly stes = new Map<number, Ste>();
  private readonly cds = new Map<number, Cd>();

  ste(sid: number): Ste | undefined {
    return this.stes.get(sid);
  }

  fillSte(sid: number, ste: Ste): void {
    this.stes.set(sid, ste);
  }

  cd(sid: number, ssid: number): Cd | undefined {
    return this.cds.get(cdKey(sid, ssid));
  }

  fillCd(sid: number, ssid: number, cd: Cd): void {
    this.cds.set(cdKey(sid, ssid), cd);
  }

  invalidateSte(sid: number): void {
    this.stes.delete(sid);
    for (const k of this.cds.keys()) if (Math.floor(k / 0x100000) === sid) this.cds.delete(k);
  }

  invalidateCd(sid: number, ssid: number): void {
    this.cds.delete(cdKey(sid, ssid));
  }

  /** Cached CDs sorted by (sid, ssid): for invariants and traces. */
  cdEntries(): { sid: number; ssid: number; cd: Cd }[] {
    return [...this.cds.keys()]
      .sort((a, b) => a - b)
      .map((k) => ({ sid: Math.floor(k / 0x100000), ssid: k % 0x100000, cd: this.cds.get(k)! }));
  }

  steEntries(): { sid: number; ste: Ste }[] {
    return [...this.stes.keys()].sort((a, b) => a - b).map((sid) => ({ sid, ste: this.stes.get(sid)! }));
  }
}
