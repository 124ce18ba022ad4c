/**
 * Page migration of one anonymous page (mm/migrate.c: migrate_pages → migrate_pages_batch,
 * mm/rmap.c: try_to_migrate_one, v7.0-rc5), the path that sends secondary TLBs a batched
 * flush. The PTE is cleared with the flush deferred (TTU_BATCH_FLUSH: should_defer_flush →
 * set_tlb_ubc_flush_pending → arch_tlbbatch_add_pending, where the secondary-TLB hook runs),
 * the CPU batch is flushed (try_to_unmap_flush), the content moves to a new frame
 * (move_to_new_folio), the PTE is restored on it with the same permissions
 * (remove_migration_ptes), and only then is the old frame freed. The page keeps its content:
 * nothing observable changes unless a secondary TLB kept the old frame.
 *
 * The harness's migrate is the NUMA-hinting fault's (mm/memory.c: do_numa_page →
 * migrate_misplaced_folio, MIGRATE_ASYNC, so TTU_BATCH_FLUSH), which runs under the fault's
 * mmap_read_lock: no munmap or mprotect (writers) of that mm can change the VMA or the page
 * tables while the migration entry stands. Another mm sharing the folio copy-on-write is not
 * under that lock: its munmap or exit may zap the migration entry meanwhile, which
 * remove_migration_ptes then does not map again. The rmap walk's own locks (anon_vma, folio
 * lock, PTL) are not modelled: each step here is atomic between yields.
 */
import { PTE_P, makePte, pteFrame } from '../../hw/mem.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { make_migration_entry, pte_offset, type PteSlot } from './pgtable.js';
import type { Kernel, MmStruct } from './types.js';
import { type Co, type Task, schedOf, wait } from './sched.js';
import { mmap_read_lock, mmap_read_unlock } from './mmapLock.js';
import { find_vma } from './vma.js';

/** PTE flag bits below the frame number (pte_pgprot). */
const PTE_FLAG_MASK = 0b111;

/**
 * The folios under migration (PG_locked, held by migrate_pages_batch from before
 * try_to_migrate until after remove_migration_ptes), each with the task migrating it: the one
 * a migration_entry_wait waits for.
 */
const lockedFolios = new WeakMap<Kernel, Map<number, Task>>();
const foliosOf = (kernel: Kernel): Map<number, Task> => {
  let m = lockedFolios.get(kernel);
  if (m === undefined) lockedFolios.set(kernel, (m = new Map()));
  return m;
};

/**
 * mm/migrate.c: migration_entry_wait (v7.0-rc5), from do_swap_page on a migration entry: sleep
 * until the folio the entry names is unlocked (migration_entry_wait_on_locked), then return to
 * let the access fault again. Only a concurrent task can meet an entry: outside a group a
 * migrate runs to its end.
 */
export function* migration_entry_wait(kernel: Kernel, frame: number): Co {
  const folios = foliosOf(kernel);
  yield* wait(kernel, `migration_entry_wait(frame ${frame})`, () => !folios.has(frame), () => folios.get(frame));
}

/**
 * The NUMA-hinting fault's migration of one page: under mmap_read_lock, the fault finds the
 * VMA (lock_mm_and_find_vma; none: nothing to migrate, a munmap detached it), then
 * migrate_page.
 */
export function* migrate_misplaced_page(mm: MmStruct, page: number): Co {
  yield* mmap_read_lock(mm);
  if (find_vma(mm, page) >= 0) yield* migrate_page(mm, page);
  yield* mmap_read_unlock(mm);
}

/**
 * Migrate the page at harness page `page` of a live mm; an absent page is skipped (nothing to
 * migrate). try_to_migrate's rmap_walk visits every mm mapping the folio (a copy-on-write page
 * after fork is mapped by the parent and its children, in anon_vma order: oldest first), clearing
 * each PTE with its flush deferred; a PROT_NONE mapping is cleared but sends no flush
 * (set_tlb_ubc_flush_pending: !pte_accessible). folio_migrate_mapping then needs the folio's
 * references to be exactly those mappings: an extra one (a zap whose mmu_gather has not yet
 * dropped its reference) fails the move with -EAGAIN, and remove_migration_ptes(src, src)
 * restores the old PTEs.
 */
export function* migrate_page(mm: MmStruct, page: number): Co {
  const kernel = mm.kernel;
  const mem = kernel.mem;
  const vpn = userVpn(page);
  const slot = pte_offset(mem, mm.pgd.root, mm.pgd.levels, vpn);
  if (slot === undefined) return;
  const pteval = mem.entry(slot.table, slot.index);
  if ((pteval & PTE_P) === 0) return;
  const core = coreOf(kernel);
  const old = pteFrame(pteval);
  // folio_trylock (MIGRATE_ASYNC): a folio another migration holds is skipped.
  const folios = foliosOf(kernel);
  if (folios.has(old)) return;
  folios.set(old, schedOf(kernel).current);
  const mapped: { mm: MmStruct; slot: PteSlot; pteval: number }[] = [];
  for (const owner of [...mem.owners(old)]) {
    const m = core.mms[owner];
    if (m === undefined || m.freed || mapped.some((x) => x.mm === m)) continue;
    const s = pte_offset(mem, m.pgd.root, m.pgd.levels, vpn);
    if (s === undefined) continue;
    const e = mem.entry(s.table, s.index);
    if (e === 0 || pteFrame(e) !== old) continue;
    // try_to_migrate_one: ptep_get_and_clear, then set_tlb_ubc_flush_pending, and the
    // migration entry in the PTE's place (not present: a walker faults on it, a CPU or IOPF
    // fault waits on it in migration_entry_wait).
    mem.setEntry(s.table, s.index, make_migration_entry(old));
    mapped.push({ mm: m, slot: s, pteval: e });
    if ((e & PTE_P) !== 0) yield* core.arch.tlbbatch_add_pending(m, vpn);
  }
  // try_to_unmap_flush → arch_tlbbatch_flush: the CPUs' TLBs only.
  const entry = make_migration_entry(old);
  // page_vma_mapped_walk's test: the mapping still holds this folio's migration entry (a table
  // another mm's munmap freed meanwhile holds none).
  const still = (x: { slot: PteSlot }): boolean => mem.kind(x.slot.table) === 'table' && mem.entry(x.slot.table, x.slot.index) === entry;
  if (mem.refCount(old) !== mapped.length) {
    // remove_migration_ptes(src, src): only the entries still there (see below).
    for (const x of mapped) if (still(x)) mem.setEntry(x.slot.table, x.slot.index, x.pteval);
    if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `migrate page ${page}: frame ${old} busy, -EAGAIN`);
    folios.delete(old); // folio_unlock
    return;
  }
  // remove_migration_ptes: page_vma_mapped_walk finds each migration entry still there; one
  // another mm's munmap or exit zapped meanwhile (it walks that mm's tables, not under this
  // fault's mmap_lock) is not mapped again.
  const live = mapped.filter(still);
  if (live.length > 0) {
    const frame = mem.alloc('data', live[0]!.mm.slot, mem.token(old)); // folio_copy
    for (let i = 1; i < live.length; i++) mem.get(frame, live[i]!.mm.slot);
    mem.setAnonExclusive(frame, mem.anonExclusive(old)); // the migration entry keeps PageAnonExclusive
    for (const x of live) mem.setEntry(x.slot.table, x.slot.index, makePte(frame, x.pteval & PTE_FLAG_MASK));
    if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `migrate page ${page}: frame ${old} → ${frame}`);
  }
  folios.delete(old); // folio_unlock: migration_entry_wait's sleepers wake
  for (const x of mapped) mem.put(old, x.mm.slot);
}
