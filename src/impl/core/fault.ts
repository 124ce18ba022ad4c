/**
 * mm/memory.c: handle_mm_fault for a CPU access to one harness page (v6.17), with the
 * harness's anonymous-memory rules (contracts.md, "Content tokens"): no zero page, so a read
 * fault populates a fresh frame mapped read-only.
 */
import { PTE_P, PTE_U, PTE_W, makePte } from '../../hw/mem.js';
import type { Errno } from '../../shared/index.js';
import { userVpn } from '../../shared/index.js';
import { coreOf } from './kernel.js';
import { pte_offset_alloc } from './pgtable.js';
import type { MmStruct } from './types.js';
import { find_vma } from './vma.js';
import { mmap_read_lock, mmap_read_unlock } from './mmapLock.js';
import type { Co } from './sched.js';

/**
 * The caller holds mm_users (the process is live). Outside a VMA, into a PROT_NONE VMA or a
 * write to a read-only VMA: -EFAULT (the SIGSEGV of arch do_page_fault / access_error).
 * - absent PTE: do_anonymous_page: page tables first, then the page; writable only for a write
 *   fault in an 'rw' VMA. A not-present → present change needs no flush.
 * - present read-only PTE, write fault: do_wp_page → wp_page_reuse (the page is exclusive):
 *   the PTE becomes writable in place, same page, and the arch's upgrade flush runs.
 * - anything else: a spurious fault, nothing to do.
 * The caller holds mmap_lock for reading.
 */
export function* handle_mm_fault(mm: MmStruct, page: number, write: boolean): Co<Errno | 0> {
  const i = find_vma(mm, page);
  const vma = i < 0 ? undefined : mm.vmas[i]!;
  if (vma === undefined || vma.prot === 'none' || (write && vma.prot !== 'rw')) return 'EFAULT';
  const kernel = mm.kernel;
  const mem = kernel.mem;
  const vpn = userVpn(page);
  const slot = pte_offset_alloc(mem, mm.pgd.root, mm.pgd.levels, mm.slot, vpn);
  const e = mem.entry(slot.table, slot.index);
  if (e === 0) {
    const token = coreOf(kernel).content.populateUser(mm.slot, page);
    const frame = mem.alloc('data', mm.slot, token);
    mem.setEntry(slot.table, slot.index, makePte(frame, PTE_P | PTE_U | (write ? PTE_W : 0)));
    if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `fault page ${page}: frame ${frame}${write ? ' rw' : ' r'}`);
    return 0;
  }
  if (write && (e & PTE_W) === 0) {
    mem.setEntry(slot.table, slot.index, e | PTE_W);
    if (kernel.trace) kernel.trace.event('cpu', `mm${mm.slot}`, `write fault page ${page}: upgrade to rw`);
    yield* coreOf(kernel).arch.flush_tlb_upgrade(mm, vpn);
  }
  return 0;
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
  yield* mmap_read_lock(mm);
  const ret = yield* handle_mm_fault(mm, page, write);
  yield* mmap_read_unlock(mm);
  return ret;
}
