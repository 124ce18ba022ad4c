/**
 * The abstract page map of each mm and the kernel's vmalloc pages, per contracts.md "Content
 * tokens": a page is populated on first touch inside its VMA, read touches map it read-only,
 * a write touch upgrades; fork shares present pages copy-on-write: both sides keep the
 * parent's content, their writable PTEs become read-only, and a write fault (CPU touch or a
 * device's page request) makes the page the writer's own and writable again. Content tokens name
 * what a page was populated with, not what was later written, so a COW copy reads the same
 * token as the page it was copied from: after fork each side reads the parent's values.
 */
import { kernelToken, userToken } from '../shared/index.js';
import type { Observation, Prot } from '../shared/index.js';
import { bondTable, mmTable } from './machines/index.js';
import { fail, OK_OBS } from './observe.js';
import { PTE_ABSENT, PTE_PROTNONE, PTE_RO, PTE_RW, VMA_NONE, VMA_PROTNONE, VMA_R, VMA_RW } from './state.js';
import type { SpecSlot, SpecState } from './state.js';
import { newIncarnation } from './lifetime.js';

export const protCode = (p: Prot): number => (p === 'none' ? VMA_PROTNONE : p === 'r' ? VMA_R : VMA_RW);

export const mmap = (sl: SpecSlot, first: number, count: number, prot: 'r' | 'rw'): void => {
  sl.vma.fill(protCode(prot), first, first + count);
};

/** mm/memory.c handle_mm_fault as the contract simplifies it (no zero page). */
export const touch = (sl: SpecSlot, slot: number, page: number, write: boolean): Observation => {
  const vma = sl.vma[page]!;
  // No VMA, PROT_NONE, or a write to a read-only VMA: SIGSEGV.
  if (vma === VMA_NONE || vma === VMA_PROTNONE || (write && vma !== VMA_RW)) return fail('EFAULT');
  const pte = sl.pte[page]!;
  if (pte === PTE_ABSENT) {
    const gen = (sl.popGen[page]! += 1);
    sl.token[page] = userToken(slot, page, gen);
    sl.pte[page] = write ? PTE_RW : PTE_RO;
    sl.exclusive[page] = 1;
  } else if (write && pte === PTE_RO) {
    // do_wp_page: reused in place or copied (same content), either way this mm's own page now.
    sl.pte[page] = PTE_RW;
    sl.exclusive[page] = 1;
  }
  return OK_OBS;
};

/** munmap: PTEs zapped (frames freed), VMAs removed; gaps in the range are fine. */
export const munmap = (sl: SpecSlot, first: number, count: number): void => {
  sl.vma.fill(VMA_NONE, first, first + count);
  sl.pte.fill(PTE_ABSENT, first, first + count);
  sl.token.fill(0, first, first + count);
  sl.exclusive.fill(0, first, first + count);
};

/**
 * mm/mprotect.c change_pte_range (v7.0-rc5): a present PTE takes the new protection; PROT_NONE
 * keeps the frame but denies access; raising to rw makes an exclusive page writable at once
 * (MM_CP_TRY_CHANGE_WRITABLE + can_change_pte_writable: PageAnonExclusive), while a page still
 * shared since a fork stays read-only until its next write fault.
 */
export const mprotect = (sl: SpecSlot, page: number, prot: Prot): void => {
  const code = protCode(prot);
  sl.vma[page] = code;
  if (sl.pte[page]! === PTE_ABSENT) return;
  sl.pte[page] = code === VMA_PROTNONE ? PTE_PROTNONE : code === VMA_R || sl.exclusive[page] === 0 ? PTE_RO : PTE_RW;
};

/**
 * kernel/fork.c dup_mm into a free slot, no iommu_mm: VMAs copied, present pages shared
 * copy-on-write (mm/memory.c copy_present_pte): both sides see the parent's content, every
 * shared page loses PageAnonExclusive, and a writable PTE becomes read-only on both sides.
 */
export const fork = (s: SpecState, parent: number, child: number): void => {
  const p = s.slots[parent]!;
  const c = newIncarnation(s, child, 'fork');
  c.vma.set(p.vma);
  for (let page = 0; page < p.pte.length; page++) {
    if (p.pte[page] === PTE_RW) p.pte[page] = PTE_RO;
    if (p.pte[page] !== PTE_ABSENT) p.exclusive[page] = 0;
  }
  c.pte.set(p.pte);
  c.token.set(p.token);
};

/** Last mmput: exit_mmap frees every page and VMA; bonds stay but become defunct. */
export const exit = (s: SpecState, slot: number): void => {
  const sl = s.slots[slot]!;
  const { mms, devices } = s.t.topology;
  mmTable.send(sl.mm, { type: 'exit' }, s.coverage);
  sl.vma.fill(VMA_NONE);
  sl.pte.fill(PTE_ABSENT);
  sl.token.fill(0);
  sl.exclusive.fill(0);
  for (let dev = 0; dev < devices.length; dev++) bondTable.send(s.bonds[dev * mms + slot]!, { type: 'exit' }, s.coverage);
};

export const vmalloc = (s: SpecState, k: number): void => {
  s.kMapped[k] = 1;
  const gen = (s.kGen[k]! += 1);
  s.kToken[k] = kernelToken(k, gen);
};

export const vfree = (s: SpecState, k: number): void => {
  s.kMapped[k] = 0;
  s.kToken[k] = 0;
};
