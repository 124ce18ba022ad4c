import { HwError } from './errors.js';
import { PhysMem, PTE_P, PTE_U, PTE_W, makePte, pteFrame } from './mem.js';

/** 512^k for k = 0..5: vpns reach 2^45 (5-level), beyond 32-bit shifts, so index by division. */
const SPAN = [1, 512, 512 ** 2, 512 ** 3, 512 ** 4, 512 ** 5] as const;

/** The index a vpn selects in a table of the given level (1 = PTE table). */
export const levelIndex = (vpn: number, level: number): number => Math.floor(vpn / SPAN[level - 1]!) % 512;

/**
 * The vpn bits translated by the tables above `level`: the tag of a paging-structure (walk)
 * cache entry that caches the pointer to the level-`level` table for this vpn.
 */
export const levelPrefix = (vpn: number, level: number): number => Math.floor(vpn / SPAN[level]!);

/** Number of pages one entry of a level-`level` table spans. */
export const levelSpan = (level: number): number => SPAN[level - 1]!;

/**
 * A radix tree of page tables rooted at `root` (a table of level `rootLevel`), owned by
 * `owner`. Intermediate tables are allocated on demand, as the kernel's pXX_alloc does, and
 * freed bottom-up when their range empties (free_pgtables). Tables not owned by `owner` (the
 * shared kernel half seen from a user pgd) are never allocated or freed here.
 */
export class Radix {
  constructor(
    protected readonly mem: PhysMem,
    readonly root: number,
    readonly rootLevel: number,
    readonly owner: number,
  ) {}

  /** The leaf entry for vpn, or 0 when any level is not present. */
  lookup(vpn: number): number {
    let table = this.root;
    for (let level = this.rootLevel; level > 1; level--) {
      const e = this.mem.entry(table, levelIndex(vpn, level));
      if ((e & PTE_P) === 0) return 0;
      table = pteFrame(e);
    }
    return this.mem.entry(table, levelIndex(vpn, 1));
  }

  /** Install a leaf; present/writable/user bits come from the arguments. */
  map(vpn: number, frame: number, write: boolean, user = true): void {
    const table = this.leafTable(vpn, true)!;
    const i = levelIndex(vpn, 1);
    if (this.mem.entry(table, i) !== 0) throw new HwError('pagetable', `vpn ${vpn.toString(16)} already mapped`);
    this.mem.setEntry(table, i, makePte(frame, PTE_P | (write ? PTE_W : 0) | (user ? PTE_U : 0)));
  }

  /** Change the writable bit of a present leaf; returns false when no leaf is present. */
  setWrite(vpn: number, write: boolean): boolean {
    const table = this.leafTable(vpn, false);
    if (table === undefined) return false;
    const i = levelIndex(vpn, 1);
    const e = this.mem.entry(table, i);
    if ((e & PTE_P) === 0) return false;
    this.mem.setEntry(table, i, write ? e | PTE_W : e & ~PTE_W);
    return true;
  }

  /** Clear a leaf (the zap); returns the old entry, 0 when nothing was mapped. */
  unmap(vpn: number): number {
    const table = this.leafTable(vpn, false);
    if (table === undefined) return 0;
    const i = levelIndex(vpn, 1);
    const e = this.mem.entry(table, i);
    if (e !== 0) this.mem.setEntry(table, i, 0);
    return e;
  }

  /**
   * Free the tables on vpn's path that no longer map anything, bottom-up, never the root and
   * never a table of another owner. Returns the freed table frames (free_pgtables' work).
   */
  freeEmptyTables(vpn: number): number[] {
    const path: { table: number; index: number }[] = [];
    let table = this.root;
    for (let level = this.rootLevel; level > 1; level--) {
      const index = levelIndex(vpn, level);
      const e = this.mem.entry(table, index);
      if ((e & PTE_P) === 0) break;
      path.push({ table, index });
      table = pteFrame(e);
    }
    const freed: number[] = [];
    // path[k] holds the entry pointing at the table one level down; walk back up from the leaf.
    let child = table;
    for (let k = path.length - 1; k >= 0; k--) {
      if (this.mem.owner(child) !== this.owner || this.mem.usedEntries(child) !== 0) break;
      const { table: parent, index } = path[k]!;
      this.mem.setEntry(parent, index, 0);
      this.mem.free(child);
      freed.push(child);
      child = parent;
    }
    return freed;
  }

  /**
   * Free every table of the tree, the root included, children before their parent: a domain's
   * page-table teardown (io-pgtable-arm __arm_lpae_free_pgtable, VT-d pt_iommu_deinit). Leaves
   * are not touched: the frames they map belong to whoever mapped them. A freed table keeps
   * its entries, readable by a stale walker. Returns the freed frames.
   */
  freeTables(): number[] {
    const freed: number[] = [];
    this.freeBelow(this.root, this.rootLevel, freed);
    return freed;
  }

  private freeBelow(table: number, level: number, freed: number[]): void {
    if (this.mem.owner(table) !== this.owner) return;
    if (level > 1) {
      for (let i = 0; i < 512; i++) {
        const e = this.mem.entry(table, i);
        if ((e & PTE_P) !== 0) this.freeBelow(pteFrame(e), level - 1, freed);
      }
    }
    this.mem.free(table);
    freed.push(table);
  }

  /** The level-1 table for vpn, allocating missing levels when `create`. */
  private leafTable(vpn: number, create: boolean): number | undefined {
    let table = this.root;
    for (let level = this.rootLevel; level > 1; level--) {
      const index = levelIndex(vpn, level);
      const e = this.mem.entry(table, index);
      if ((e & PTE_P) !== 0) {
        table = pteFrame(e);
        continue;
      }
      if (!create) return undefined;
      const next = this.mem.alloc('table', this.owner);
      // Non-leaf entries carry W|U so permission is decided at the leaf, as Linux sets them.
      this.mem.setEntry(table, index, makePte(next, PTE_P | PTE_W | PTE_U));
      table = next;
    }
    return table;
  }
}

/**
 * A software read of the path: the frame of the level-`level` table that a walk from `root` (a
 * table of `rootLevel`) reaches for vpn, or -1 when an entry above it is not present. What a
 * paging-structure cache entry for (vpn, level) should point at now.
 */
export function tableOnPath(mem: PhysMem, root: number, rootLevel: number, vpn: number, level: number): number {
  let table = root;
  for (let l = rootLevel; l > level; l--) {
    const e = mem.entry(table, levelIndex(vpn, l));
    if ((e & PTE_P) === 0) return -1;
    table = pteFrame(e);
  }
  return table;
}
