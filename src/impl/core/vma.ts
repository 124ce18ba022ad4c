/**
 * The VMA list of an mm (mm/vma.c, mm/mmap.c v6.17), in harness page units. VMAs are split at
 * range boundaries as __split_vma does; adjacent VMAs are not merged again (vma_merge is not
 * modelled: page tables and flushes depend only on where VMAs start and end).
 */
import type { Prot } from '../../shared/index.js';
import type { MmStruct, Vma } from './types.js';
import { mmap_write_lock, mmap_write_unlock } from './mmapLock.js';
import type { Co } from './sched.js';

/** find_vma for one page: the index of the VMA containing it, or -1. */
export function find_vma(mm: MmStruct, page: number): number {
  const vmas = mm.vmas;
  for (let i = 0; i < vmas.length; i++) {
    const v = vmas[i]!;
    if (page < v.first) return -1;
    if (page < v.first + v.count) return i;
  }
  return -1;
}

/** mm/vma.c: __split_vma: cut the VMA containing `at` so that a VMA starts at `at`. */
function split_vma_at(mm: MmStruct, at: number): void {
  const i = find_vma(mm, at);
  if (i < 0) return;
  const v = mm.vmas[i]!;
  if (v.first === at) return;
  const tail: Vma = { first: at, count: v.first + v.count - at, prot: v.prot, anon_vma: v.anon_vma };
  v.count = at - v.first;
  mm.vmas.splice(i + 1, 0, tail);
}

/** Split at both ends of [first, end) and return the index range [lo, hi) of VMAs inside it. */
export function isolate_range(mm: MmStruct, first: number, end: number): { lo: number; hi: number } {
  split_vma_at(mm, first);
  split_vma_at(mm, end);
  let lo = 0;
  while (lo < mm.vmas.length && mm.vmas[lo]!.first < first) lo++;
  let hi = lo;
  while (hi < mm.vmas.length && mm.vmas[hi]!.first < end) hi++;
  return { lo, hi };
}

/**
 * mm/mmap.c: do_mmap of an anonymous private mapping at a fixed, free range (v6.17): only the
 * VMA is created; pages appear at the first fault.
 */
export function do_mmap(mm: MmStruct, first: number, count: number, prot: Prot): void {
  const end = first + count;
  let i = 0;
  while (i < mm.vmas.length && mm.vmas[i]!.first < first) i++;
  const prev = mm.vmas[i - 1];
  const next = mm.vmas[i];
  if ((prev && prev.first + prev.count > first) || (next && next.first < end)) {
    throw new Error(`mmap [${first}, ${end}) overlaps a VMA of mm${mm.slot} (caller contract)`);
  }
  mm.vmas.splice(i, 0, { first, count, prot, anon_vma: false });
  mm.kernel.trace?.event('cpu', `mm${mm.slot}`, `mmap pages [${first}, ${end}) ${prot}`);
}

/** mm/util.c: vm_mmap_pgoff (v7.0-rc5): do_mmap under mmap_write_lock. */
export function* vm_mmap(mm: MmStruct, first: number, count: number, prot: Prot): Co {
  yield* mmap_write_lock(mm);
  do_mmap(mm, first, count, prot);
  yield* mmap_write_unlock(mm);
}
