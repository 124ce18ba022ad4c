import { KERNEL_BASE_VPN } from '../shared/layout.js';
import { KERNEL_OWNER, PhysMem, PTE_P, PTE_U, PTE_W, makePte, pteFrame } from './mem.js';
import { Radix, levelIndex } from './radix.js';

/**
 * The kernel half of every address space. x86 preallocates the kernel's top-level entries at
 * boot and copies them into each new pgd (pgd_alloc), so the tables below them are shared by
 * every mm; vmalloc mappings allocate and free their lower tables on demand.
 */
export class KernelSpace extends Radix {
  /** The pgd index that covers the vmalloc area. */
  readonly topIndex: number;

  constructor(mem: PhysMem, readonly levels: 4 | 5) {
    super(mem, mem.alloc('table', KERNEL_OWNER), levels - 1, KERNEL_OWNER);
    this.topIndex = levelIndex(KERNEL_BASE_VPN, levels);
  }

  /** The entry each pgd carries for the kernel half. Supervisor-only: U is clear. */
  get topEntry(): number {
    return makePte(this.root, PTE_P | PTE_W);
  }
}

/**
 * A process's CPU page tables: a pgd of `levels` levels whose user half is private to the mm.
 * With `kernel` (x86), the pgd also carries the kernel's top-level entry, pointing at the
 * shared KernelSpace tables; without it (arm64), the kernel lives behind another root (TTBR1).
 */
export class CpuPageTable extends Radix {
  constructor(mem: PhysMem, readonly levels: 4 | 5, owner: number, kernel: KernelSpace | undefined) {
    super(mem, mem.alloc('table', owner), levels, owner);
    if (kernel !== undefined) mem.setEntry(this.root, kernel.topIndex, kernel.topEntry);
  }

  /** The pgd's frame: what a VT-d PASID entry's FLPTR and an SMMU CD's TTB0 point at. */
  get pgd(): number {
    return this.root;
  }

  /** A present leaf's frame and write permission, or undefined. */
  translate(vpn: number): { frame: number; write: boolean } | undefined {
    const e = this.lookup(vpn);
    if ((e & PTE_P) === 0 || (e & PTE_U) === 0) return undefined;
    return { frame: pteFrame(e), write: (e & PTE_W) !== 0 };
  }

  /**
   * Tear the whole user half down (exit_mmap's unmap_vmas + free_pgtables, then pgd_free):
   * returns the data frames that were mapped, for the caller to free, after freeing every
   * user table and the pgd. The shared kernel tables are left alone.
   */
  destroy(): number[] {
    const frames: number[] = [];
    const visit = (table: number, level: number): void => {
      for (let i = 0; i < 512; i++) {
        const e = this.mem.entry(table, i);
        if ((e & PTE_P) === 0) continue;
        const child = pteFrame(e);
        if (level === 1) {
          frames.push(child);
        } else if (this.mem.owner(child) === this.owner) {
          visit(child, level - 1);
          this.mem.free(child);
        }
      }
    };
    visit(this.root, this.levels);
    // Freed tables keep their entries, as freed memory does: a stale walker still follows them.
    this.mem.free(this.root);
    return frames;
  }
}
