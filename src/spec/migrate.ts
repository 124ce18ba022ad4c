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

/** migrate's first point: a present page (PROT_NONE and absent ones are not migrated) is absent until the second. */
export const migrateUnmap = (s: SpecState, slot: number, page: number): undefined => {
  const sl = s.slots[slot]!;
  const pte = sl.pte[page]!;
  if (pte === PTE_RO || pte === PTE_RW) {
    s.migrating.push({ slot, page, pte });
    sl.pte[page] = PTE_ABSENT;
  }
  return undefined;
};

/** migrate's second point: the page is mapped again, its PTE as before. */
export const migrateRemap = (s: SpecState, slot: number, page: number): Observation => {
  const k = s.migrating.findIndex((m) => m.slot === slot && m.page === page);
  if (k >= 0) {
    s.slots[slot]!.pte[page] = s.migrating[k]!.pte;
    s.migrating.splice(k, 1);
  }
  return OK_OBS;
};
