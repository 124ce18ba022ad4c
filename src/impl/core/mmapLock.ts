/**
 * include/linux/mmap_lock.h (v7.0-rc5): mm->mmap_lock, an rwsem, under the kernel's wrapper
 * names. The _killable variants the syscalls use cannot fail here (no fatal signal is
 * modelled), so they are the plain ones.
 */
import { down_read, down_write, downgrade_write, up_read, up_write } from './locking.js';
import type { Co } from './sched.js';
import type { MmStruct } from './types.js';

/** mmap_read_lock (and lock_mm_and_find_vma's read lock). */
export const mmap_read_lock = (mm: MmStruct): Co => down_read(mm.mmap_lock);
/** mmap_read_unlock. */
export const mmap_read_unlock = (mm: MmStruct): Co => up_read(mm.mmap_lock);
/** mmap_write_lock, mmap_write_lock_killable, mmap_write_lock_nested. */
export const mmap_write_lock = (mm: MmStruct): Co => down_write(mm.mmap_lock);
/** mmap_write_unlock. */
export const mmap_write_unlock = (mm: MmStruct): Co => up_write(mm.mmap_lock);
/** mmap_write_downgrade. */
export const mmap_write_downgrade = (mm: MmStruct): Co => downgrade_write(mm.mmap_lock);
