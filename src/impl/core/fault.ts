/**
 * mm/memory.c: handle_mm_fault for a CPU or device (IOPF) access to one harness page (v7.0-rc5), with the
 * harness's anonymous-memory rules (contracts.md, "Content tokens"): no zero page, so a read
 * fault populates a fresh frame mapped read-only.
 */
import { PTE_P, PTE_U, PTE_W, makePte, pteFrame, type PhysMem } from '../../hw/mem.js';
import type { Errno } from '../../shared/index.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { is_migration_entry, pte_offset_alloc, type PteSlot } from './pgtable.js';
import { migration_entry_wait } from './migrate.js';
import type { MmStruct } from './types.js';
import { find_vma } from './vma.js';
import { mmap_read_lock, mmap_read_unlock } from './mmapLock.js';
import { spin_lock, spin_unlock } from './locking.js';
import type { Co } from './sched.js';

/**
 * The caller holds mm_users (the process is live). Outside a VMA, into a PROT_NONE VMA or a
 * write to a read-only VMA: -EFAULT (the SIGSEGV of arch do_page_fault / access_error).
 * - absent PTE: do_anonymous_page: anon_vma_prepare, page tables, then the page (an exclusive
 *   anonymous folio, folio_add_new_anon_rmap with RMAP_EXCLUSIVE); writable only for a write
 *   fault in an 'rw' VMA. A not-present → present change needs no flush.
 * - a migration entry (a concurrent migrate's): do_swap_page → migration_entry_wait, then
 *   return; the access faults again if it still needs to.
 * - present read-only PTE, write fault: do_wp_page (copy-on-write, below).
 * - anything else: a spurious fault, nothing to do.
 * The caller holds mmap_lock for reading.
 */
export function* handle_mm_fault(mm: MmStruct, page: number, write: boolean): Co<Errno | 0> {
  const ret = yield* handle_pte_fault(mm, page, write);
  return ret === MIGRATION_WAITED ? 0 : ret;
}

/** do_swap_page's return after migration_entry_wait (0 in the kernel): the access has not been made. */
const MIGRATION_WAITED = 'migration-waited';

/**
 * The body of handle_mm_fault (__handle_mm_fault → handle_pte_fault), telling a migration wait
 * apart. The PTE is read and changed under the page-table lock (pte_offset_map_lock), so a
 * second fault on the same page waits for a first one's change and then finds it (a device's
 * IOPF work beside another's write fault: amd seed 201729, two work items on one page, one
 * copying it on write while the other would have found its PTE cleared mid-flush).
 */
function* handle_pte_fault(mm: MmStruct, page: number, write: boolean): Co<Errno | 0 | typeof MIGRATION_WAITED> {
  const i = find_vma(mm, page);
  const vma = i < 0 ? undefined : mm.vmas[i]!;
  if (vma === undefined || vma.prot === 'none' || (write && vma.prot !== 'rw')) return 'EFAULT';
  const kernel = mm.kernel;
  const mem = kernel.mem;
  const vpn = userVpn(page);
  const slot = pte_offset_alloc(mem, mm.pgd.root, mm.pgd.levels, mm.slot, vpn);
  const ptl = mm.page_table_lock;
  yield* spin_lock(ptl);
  const e = mem.entry(slot.table, slot.index);
  if (e === 0) {
    // do_anonymous_page. The kernel allocates the folio before it takes the lock and drops it
    // when the PTE is no longer none; here it is allocated under the lock, once the PTE is
    // found none, so that a fault that backs off populates nothing (content tokens count).
    vma.anon_vma = true; // anon_vma_prepare
    const token = coreOf(kernel).content.populateUser(mm.slot, page);
    const frame = mem.alloc('data', mm.slot, token);
    mem.setAnonExclusive(frame, true);
    mem.setEntry(slot.table, slot.index, makePte(frame, PTE_P | PTE_U | (write ? PTE_W : 0)));
    if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `fault page ${page}: frame ${frame}${write ? ' rw' : ' r'}`);
    yield* spin_unlock(ptl);
    return 0;
  }
  if (is_migration_entry(e)) {
    yield* spin_unlock(ptl);
    yield* migration_entry_wait(kernel, pteFrame(e));
    return MIGRATION_WAITED;
  }
  if (write && (e & PTE_W) === 0) {
    yield* do_wp_page(mm, page, slot, e);
    return 0;
  }
  // A spurious fault: another one made the PTE what this access needs.
  yield* spin_unlock(ptl);
  return 0;
}

/**
 * mm/memory.c: do_wp_page (v7.0-rc5), private anonymous mapping, entered with the page-table
 * lock held: an exclusive page (PageAnonExclusive), or one wp_can_reuse_anon_folio finds
 * unshared, is reused in place (wp_page_reuse, setting PageAnonExclusive first, under the
 * lock); a page still shared with another mm (fork) is copied (wp_page_copy, after the lock
 * is dropped).
 */
function* do_wp_page(mm: MmStruct, page: number, slot: PteSlot, e: number): Co {
  const mem = mm.kernel.mem;
  const frame = pteFrame(e);
  if (mem.anonExclusive(frame) || wp_can_reuse_anon_folio(mem, frame)) {
    mem.setAnonExclusive(frame, true);
    yield* wp_page_reuse(mm, page, slot, e);
    yield* spin_unlock(mm.page_table_lock);
    return;
  }
  yield* spin_unlock(mm.page_table_lock);
  yield* wp_page_copy(mm, page, slot, e);
}

/**
 * mm/memory.c: wp_can_reuse_anon_folio (v7.0-rc5), small folio: reusable only while the
 * faulting mapping holds the only reference (folio_ref_count == 1: the other sharers have
 * copied or unmapped it); folio_move_anon_rmap is rmap bookkeeping with no effect here.
 */
const wp_can_reuse_anon_folio = (mem: PhysMem, frame: number): boolean => mem.refCount(frame) === 1;

/** mm/memory.c: wp_page_reuse (v7.0-rc5): the same page made writable in place, and the arch's upgrade flush. */
function* wp_page_reuse(mm: MmStruct, page: number, slot: PteSlot, e: number): Co {
  const kernel = mm.kernel;
  kernel.mem.setEntry(slot.table, slot.index, e | PTE_W);
  if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `write fault page ${page}: upgrade to rw`);
  yield* coreOf(kernel).arch.flush_tlb_upgrade(mm, userVpn(page));
}

/**
 * mm/memory.c: wp_page_copy (v7.0-rc5): a new exclusive page with the old one's content
 * (__wp_page_copy_user); then, under the page-table lock taken again, only if the PTE is still
 * the one the fault found (pte_same: else another fault handled it, and the new page is
 * dropped), the old PTE is cleared and flushed (ptep_clear_flush → flush_tlb_page: the
 * secondary TLBs drop the shared page) and the new writable one set; only then does the old
 * page lose this mapping's reference (folio_put), which frees it if no other mm still maps it.
 * The mmu_notifier_invalidate_range_start/end around it (MMU_NOTIFY_CLEAR on the page) reach
 * no SVA subscription: none implements them.
 */
function* wp_page_copy(mm: MmStruct, page: number, slot: PteSlot, e: number): Co {
  const kernel = mm.kernel;
  const mem = kernel.mem;
  const old = pteFrame(e);
  const frame = mem.alloc('data', mm.slot, mem.token(old));
  const ptl = mm.page_table_lock;
  yield* spin_lock(ptl);
  if (mem.entry(slot.table, slot.index) !== e) {
    yield* spin_unlock(ptl);
    mem.put(frame, mm.slot);
    return;
  }
  mem.setEntry(slot.table, slot.index, 0);
  yield* coreOf(kernel).arch.flush_tlb_page(mm, userVpn(page));
  mem.setAnonExclusive(frame, true);
  mem.setEntry(slot.table, slot.index, makePte(frame, PTE_P | PTE_U | PTE_W));
  if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `write fault page ${page}: copy-on-write, frame ${old} → ${frame}`);
  yield* spin_unlock(ptl);
  mem.put(old, mm.slot);
}

/**
 * arch/x86/mm/fault.c: do_user_addr_fault, arch/arm64/mm/fault.c: do_page_fault (v7.0-rc5):
 * the CPU access `touch`. DEVIATION: the per-VMA lock attempt (lock_vma_under_rcu,
 * CONFIG_PER_VMA_LOCK) is not modelled; the fault always takes the fallback,
 * lock_mm_and_find_vma's mmap_read_lock. Against the paths modelled here it excludes the same
 * writers: munmap, mprotect and mmu_notifier_register (mm_take_all_locks) write-lock every
 * VMA they touch under mmap_write_lock.
 */
export function* do_user_addr_fault(mm: MmStruct, page: number, write: boolean): Co<Errno | 0> {
  // After migration_entry_wait the CPU re-executes the access and faults again. A fault that
  // handled the PTE made the access: `touch` ends there (a zap after it is ordered after the
  // touch). The bound turns a livelock of the port into an error.
  for (let pass = 0; pass < 16; pass++) {
    yield* mmap_read_lock(mm);
    const ret = yield* handle_pte_fault(mm, page, write);
    yield* mmap_read_unlock(mm);
    if (ret !== MIGRATION_WAITED) return ret;
  }
  throw new Error(`do_user_addr_fault(mm${mm.slot}, page ${page}): the access faults forever`);
}
