/**
 * migrate: the NUMA-hinting fault's migration of one page (src/impl/core/migrate.ts). The page
 * keeps its content and permissions, so as one step it changes no abstract state. In a group it
 * has two linearization points: try_to_migrate_one replaces the PTE with a migration entry,
 * which is not present (a page-table walker faults on it; the CPU's own fault waits on the entry
 * in migration_entry_wait, so only device accesses can see it), and remove_migration_ptes maps
 * the new frame. A device access between them finds the page absent: a fault, or on a PRI
 * device a page request, answered once the page is back.
 */
import type { Observation } from '../shared/index.js';
import { OK_OBS } from './observe.js';
import { PTE_ABSENT, PTE_RO, PTE_RW, type SpecState } from './state.js';

/**
 * migrate's first point: a present page (PROT_NONE and absent ones are not migrated) is absent
 * until the second, and so is every copy-on-write sharer's mapping of the same folio:
 * try_to_migrate walks the folio's anon_vma and puts a migration entry in each mapping
 * (mm/rmap.c: try_to_migrate_one per VMA; a fork maps the child's page at the parent's address,
 * and the sharers hold the same content token). A device access through a sharer's PASID
 * meanwhile finds its page absent too (smmuv3 R04 bench seed 901729: the child's migrate, the
 * parent's DMA).
 */
export const migrateUnmap = (s: SpecState, slot: number, page: number): undefined => {
  const sl = s.slots[slot]!;
  const pte = sl.pte[page]!;
  if (pte !== PTE_RO && pte !== PTE_RW) return undefined;
  s.migrating.push({ slot, page, pte, by: slot, token: sl.token[page]! });
  sl.pte[page] = PTE_ABSENT;
  if (sl.exclusive[page] === 1) return undefined;
  const token = sl.token[page]!;
  for (let o = 0; o < s.slots.length; o++) {
    const other = s.slots[o]!;
    const p = other.pte[page]!;
    if (o === slot || (p !== PTE_RO && p !== PTE_RW) || other.exclusive[page] === 1 || other.token[page] !== token) continue;
    s.migrating.push({ slot: o, page, pte: p, by: slot, token });
    other.pte[page] = PTE_ABSENT;
  }
  return undefined;
};

/**
 * migrate's second point: the page is mapped again in every mapping it unmapped, each PTE as
 * before; not in one a concurrent munmap or exit of a sharer zapped meanwhile (its token is
 * gone: remove_migration_ptes finds no migration entry there).
 */
export const migrateRemap = (s: SpecState, slot: number, page: number): Observation => {
  let k = 0;
  for (const m of s.migrating) {
    if (m.by !== slot || m.page !== page) s.migrating[k++] = m;
    else if (s.slots[m.slot]!.token[page] === m.token) s.slots[m.slot]!.pte[page] = m.pte;
  }
  s.migrating.length = k;
  return OK_OBS;
};
