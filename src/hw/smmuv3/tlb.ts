import type { Translation } from '../iommu.js';

export type TlbEntry = Translation & { readonly ok: true };

/**
 * The SMMU TLB: leaf translations keyed by (ASID, page). ASIDs are global to the SMMU (no
 * StreamID in the tag), so two streams using one ASID share entries, as on hardware. The stored
 * object is the Translation handed back to the device, so a hit allocates nothing.
 */
export class SmmuTlb {
  /** ASID → (vpn → entry); nested so keys stay exact numbers. */
  private readonly byAsid = new Map<number, Map<number, TlbEntry>>();

  lookup(asid: number, vpn: number): TlbEntry | undefined {
    return this.byAsid.get(asid)?.get(vpn);
  }

  fill(asid: number, vpn: number, entry: TlbEntry): void {
    let m = this.byAsid.get(asid);
    if (m === undefined) this.byAsid.set(asid, (m = new Map()));
    m.set(vpn, entry);
  }

  invalidateAsid(asid: number): void {
    this.byAsid.delete(asid);
  }

  /** Every entry (TLBI_NH_ALL of the VMID they carry). */
  invalidateAll(): void {
    this.byAsid.clear();
  }

  /** Drop the ASID's entries for pages [first, first + pages). */
  invalidateRange(asid: number, first: number, pages: number): void {
    const m = this.byAsid.get(asid);
    if (m === undefined) return;
    if (pages <= m.size) {
      for (let vpn = first; vpn < first + pages; vpn++) m.delete(vpn);
    } else {
      for (const vpn of m.keys()) if (vpn >= first && vpn < first + pages) m.delete(vpn);
    }
  }

  /** Entries sorted by (ASID, vpn): for invariants and traces. */
  entries(): { asid: number; vpn: number; frame: number; write: boolean }[] {
    const out: { asid: number; vpn: number; frame: number; write: boolean }[] = [];
    for (const asid of [...this.byAsid.keys()].sort((a, b) => a - b)) {
      const m = this.byAsid.get(asid)!;
      for (const vpn of [...m.keys()].sort((a, b) => a - b)) {
        const e = m.get(vpn)!;
        out.push({ asid, vpn, frame: e.frame, write: e.write });
      }
    }
    return out;
  }
}
