/**
 * mm/memory.c: free_pgd_range and free_p4d/pud/pmd/pte_range (v6.17), generic over the
 * number of levels: after an unmap, free the page-table pages under [addr, end) whose whole
 * span lies inside [floor, ceiling), the gap between the neighbouring VMAs. Tables shared with
 * a neighbour stay. Each freed table goes through the mmu_gather (pXd_free_tlb), so its page is
 * freed only after the TLB flush. Units are vpns; ceiling 0 means the top of the address space
 * (USER_PGTABLES_CEILING), floor 0 is FIRST_USER_ADDRESS.
 */
import { PTE_P, pteFrame } from '../../hw/mem.js';
import { levelIndex, levelSpan } from '../../hw/radix.js';
import { tlb_free_table, type MmuGather } from './mmuGather.js';

/** PMD_SIZE in pages: the span of one PTE table. */
const PTE_TABLE_SPAN = 512;

const alignDown = (v: number, a: number): number => Math.floor(v / a) * a;

/** The span test of free_pXd_range's tail: may the table covering `span` at `start` go? */
function withinFloorCeiling(start: number, end: number, span: number, floor: number, ceiling: number): boolean {
  if (alignDown(start, span) < floor) return false;
  if (ceiling !== 0) {
    const c = alignDown(ceiling, span);
    if (c === 0 || end - 1 > c - 1) return false;
  }
  return true;
}

/**
 * free_pXd_range for a table of `level` (≥ 2) reached through `parent` (undefined for the pgd,
 * which is freed only at __mmdrop): free the tables below it in [addr, end), then the table
 * itself if its span is inside [floor, ceiling).
 */
function freeLevel(
  tlb: MmuGather, table: number, level: number, parent: { table: number; index: number } | undefined,
  addr: number, end: number, floor: number, ceiling: number,
): void {
  const mem = tlb.mm.kernel.mem;
  const span = levelSpan(level); // pages one entry of this table maps
  const start = addr;
  for (let a = addr; a !== end;) {
    const next = Math.min(alignDown(a, span) + span, end);
    const index = levelIndex(a, level);
    const e = mem.entry(table, index);
    if ((e & PTE_P) !== 0) {
      const child = pteFrame(e);
      if (level === 2) {
        // free_pte_range: the PTE table goes unconditionally (free_pgd_range trimmed the range).
        mem.setEntry(table, index, 0);
        tlb_free_table(tlb, 1, child, a);
      } else {
        freeLevel(tlb, child, level - 1, { table, index }, a, next, floor, ceiling);
      }
    }
    a = next;
  }
  if (parent === undefined) return;
  const tableSpan = levelSpan(level + 1);
  if (!withinFloorCeiling(start, end, tableSpan, floor, ceiling)) return;
  mem.setEntry(parent.table, parent.index, 0);
  tlb_free_table(tlb, level, table, alignDown(start, tableSpan));
}

/** mm/memory.c: free_pgd_range (v6.17). */
export function free_pgd_range(tlb: MmuGather, addr: number, end: number, floor: number, ceiling: number): void {
  addr = alignDown(addr, PTE_TABLE_SPAN);
  if (addr < floor) {
    addr += PTE_TABLE_SPAN;
    if (addr === 0) return;
  }
  if (ceiling !== 0) {
    ceiling = alignDown(ceiling, PTE_TABLE_SPAN);
    if (ceiling === 0) return;
    if (end - 1 > ceiling - 1) end -= PTE_TABLE_SPAN;
  }
  if (addr > end - 1) return;
  const pgd = tlb.mm.pgd;
  freeLevel(tlb, pgd.root, pgd.levels, undefined, addr, end, floor, ceiling);
}
