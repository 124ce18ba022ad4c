/**
 * The abstract page map of each mm and the kernel's vmalloc pages, per contracts.md "Content
 * tokens": a page is populated on first touch inside its VMA, read touches map it read-only,
 * a write touch upgrades; fork copies present pages eagerly (no COW, documented deviation).
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
  } else if (write && pte === PTE_RO) {
    sl.pte[page] = PTE_RW;
  }
  return OK_OBS;
};

/** munmap: PTEs zapped (frames freed), VMAs removed; gaps in the range are fine. */
export const munmap = (sl: SpecSlot, first: number, count: number): void => {
  sl.vma.fill(VMA_NONE, first, first + count);
  sl.pte.fill(PTE_ABSENT, first, first + count);
  sl.token.fill(0, first, first + count);
};

/**
 * mm/mprotect.c change_pte_range (v6.17) for exclusive anonymous pages: a present PTE takes the
 * new protection; PROT_NONE keeps the frame but denies access; raising to rw makes it writable
 * at once (MM_CP_TRY_CHANGE_WRITABLE + can_change_pte_writable: PageAnonExclusive).
 */
export const mprotect = (sl: SpecSlot, page: number, prot: Prot): void => {
  const code = protCode(prot);
  sl.vma[page] = code;
  if (sl.pte[page]! !== PTE_ABSENT) sl.pte[page] = code === VMA_PROTNONE ? PTE_PROTNONE : code === VMA_R ? PTE_RO : PTE_RW;
};

/** kernel/fork.c dup_mm into a free slot: VMAs and present pages copied, no iommu_mm. */
export const fork = (s: SpecState, parent: number, child: number): void => {
  const p = s.slots[parent]!;
  const c = newIncarnation(s, child, 'fork');
  c.vma.set(p.vma);
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
