/**
 * Software walks of a process's page tables, as mm/memory.c does them (pte_offset_map,
 * __pte_alloc and the pXd_alloc helpers). Entries use the encoding of src/hw/mem.ts; upper
 * levels carry P|W|U so that permission is decided at the leaf, as Linux sets them.
 */
import { PTE_P, PTE_U, PTE_W, makePte, pteFrame, type PhysMem } from '../../hw/mem.js';
import { levelIndex } from '../../hw/radix.js';

/** The slot of a leaf PTE: its table frame and index. */
export interface PteSlot {
  readonly table: number;
  readonly index: number;
}

/** pte_offset_map: the leaf slot of vpn, or undefined when an upper level is missing. */
export function pte_offset(mem: PhysMem, root: number, levels: number, vpn: number): PteSlot | undefined {
  let table = root;
  for (let level = levels; level > 1; level--) {
    const e = mem.entry(table, levelIndex(vpn, level));
    if ((e & PTE_P) === 0) return undefined;
    table = pteFrame(e);
  }
  return { table, index: levelIndex(vpn, 1) };
}

/**
 * __handle_mm_fault's p4d_alloc/pud_alloc/pmd_alloc + __pte_alloc: allocate the missing
 * levels (zeroed pages owned by `owner`) top-down, before the data page is allocated.
 */
export function pte_offset_alloc(mem: PhysMem, root: number, levels: number, owner: number, vpn: number): PteSlot {
  let table = root;
  for (let level = levels; level > 1; level--) {
    const index = levelIndex(vpn, level);
    const e = mem.entry(table, index);
    if ((e & PTE_P) !== 0) {
      table = pteFrame(e);
      continue;
    }
    const next = mem.alloc('table', owner);
    mem.setEntry(table, index, makePte(next, PTE_P | PTE_W | PTE_U));
    table = next;
  }
  return { table, index: levelIndex(vpn, 1) };
}

/**
 * A PROT_NONE PTE (x86 _PAGE_PROTNONE, arm64 PTE_PROT_NONE): the frame stays mapped for the
 * kernel but the hardware sees the entry as not present.
 */
export const pte_mkprotnone = (frame: number): number => makePte(frame, PTE_U);

/**
 * A migration entry (include/linux/swapops.h: make_readable/writable_migration_entry, a
 * non-present swap-type PTE naming the folio under migration): not present to any walker, and
 * told apart from PROT_NONE and from an empty entry here by its bits (W alone, no P or U).
 * Its read/write flavour is not encoded: migrate.ts restores each PTE from the value it cleared.
 */
export const make_migration_entry = (frame: number): number => makePte(frame, PTE_W);

/** is_migration_entry(pte_to_swp_entry(e)) for a non-present, non-empty PTE. */
export const is_migration_entry = (e: number): boolean => (e & (PTE_P | PTE_W | PTE_U)) === PTE_W;

/** pte_present() in Linux's sense: a hardware-present or a PROT_NONE entry (a swap-type entry is not). */
export const pte_present = (e: number): boolean => e !== 0 && !is_migration_entry(e);
