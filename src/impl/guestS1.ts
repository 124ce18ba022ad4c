/**
 * The guest's side of a nested HWPT: its stage-1 table (VT-d first-stage format, IOVA → GPA),
 * written by the guest's own IOMMU driver in guest RAM. Not kernel code: the emulation owns it,
 * as the VMM and the guest own it on a real host. Its table pages are guest RAM at GPA pages
 * GUEST_PT_GPA_VPN.., which the VMM maps into the nest parent (so the IOMMU reaches every one
 * of them through the second stage); their entries hold GPA page numbers, never host frames.
 *
 * Modelling choice: the guest builds the whole tree for the harness's IOVA pages when the HWPT
 * is created and never frees a table page, so its unmaps change leaves only (LEAF hint).
 */
import { IOVA_PAGES, GUEST_PT_GPA_VPN, iovaVpn } from '../shared/index.js';
import { KERNEL_OWNER, PTE_P, PTE_U, PTE_W, makePte, pteFrame, type PhysMem } from '../hw/mem.js';
import { levelIndex } from '../hw/radix.js';

/** The guest's address width: 48 bits, a 4-level first-stage table (IOMMU_VTD_S1 addr_width). */
export const GUEST_S1_LEVELS = 4;

export class GuestS1Table {
  /** The table pages, by GPA page number → the host frame of the guest RAM holding it. */
  readonly tables = new Map<number, number>();
  /** GPA page of the top-level table (iommu_hwpt_vtd_s1.pgtbl_addr >> 12). */
  readonly root: number = GUEST_PT_GPA_VPN;

  constructor(private readonly mem: PhysMem) {
    this.tables.set(this.root, mem.alloc('table', KERNEL_OWNER));
    for (let page = 0; page < IOVA_PAGES; page++) this.leafTable(iovaVpn(page));
  }

  /** The guest writes a leaf: IOVA vpn → GPA page `gpa`, user, read-only or writable. */
  map(vpn: number, gpa: number, write: boolean): void {
    this.mem.setEntry(this.leafTable(vpn), levelIndex(vpn, 1), makePte(gpa, PTE_P | PTE_U | (write ? PTE_W : 0)));
  }

  /** The guest clears the leaf of IOVA vpn; returns the old entry. */
  unmap(vpn: number): number {
    const t = this.leafTable(vpn);
    const e = this.mem.entry(t, levelIndex(vpn, 1));
    this.mem.setEntry(t, levelIndex(vpn, 1), 0);
    return e;
  }

  /** The guest's own read of the leaf for vpn (GPA page in pteFrame), 0 when not mapped. */
  lookup(vpn: number): number {
    return this.mem.entry(this.leafTable(vpn), levelIndex(vpn, 1));
  }

  /** The level-1 table page for vpn (its frame), creating the path at construction. */
  private leafTable(vpn: number): number {
    let table = this.tables.get(this.root)!;
    for (let level = GUEST_S1_LEVELS; level > 1; level--) {
      const i = levelIndex(vpn, level);
      const e = this.mem.entry(table, i);
      if ((e & PTE_P) !== 0) {
        table = this.tables.get(pteFrame(e))!;
        continue;
      }
      const gpa = GUEST_PT_GPA_VPN + this.tables.size;
      const next = this.mem.alloc('table', KERNEL_OWNER);
      this.tables.set(gpa, next);
      this.mem.setEntry(table, i, makePte(gpa, PTE_P | PTE_W | PTE_U));
      table = next;
    }
    return table;
  }
}
