import { HwError } from './errors.js';
import { hwWork } from './work.js';
import { PT_BITS } from '../shared/layout.js';

/** What a physical frame currently holds. A freed frame keeps its old content until reused. */
export type FrameKind = 'free' | 'data' | 'table';

/** Owner of a frame: an mm slot, or the kernel (shared kernel half, vmalloc pages). */
export const KERNEL_OWNER = -1;

/** Page-table entry bits: present, writable, user. The frame number sits above them. */
export const PTE_P = 1;
export const PTE_W = 2;
export const PTE_U = 4;
export const PTE_FLAGS = 3;
export const pteFrame = (e: number): number => e >>> PTE_FLAGS;
export const makePte = (frame: number, flags: number): number => (frame << PTE_FLAGS) | flags;

export const ENTRIES = 1 << PT_BITS;
/** Table frames carved from one backing buffer (tableArray). */
const TABLES_PER_CHUNK = 16;

/** Something the hardware did that no correct kernel allows: the evidence of a use-after-free. */
export type AnomalyKind =
  /** A walker read a page-table page that has been freed (its stale entries were used). */
  | 'walk-freed-table'
  /** A walker read a frame that now holds data as if it were a page table. */
  | 'walk-non-table'
  /** A DMA reached a frame that is free or is a page table. */
  | 'dma-freed-frame';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly frame: number;
  /** Which unit did it, e.g. `vtd0`, `smmu1`, `dev2`. */
  readonly by: string;
}

/**
 * Physical memory: frames with a kind, an owner and a content token; page-table frames hold
 * 512 entries. Freed frames go on a LIFO free list, so the next allocation reuses the most
 * recently freed one: a stale translation then reaches somebody else's data, as in the kernel.
 *
 * A data frame may be shared by several owners (a copy-on-write page after fork): each holds
 * one reference (struct page's _refcount, one per mapping here), and the frame is freed only
 * when the last is put (folio_put), so one mm's unmap never frees a page another still maps.
 */
export class PhysMem {
  private readonly kinds: FrameKind[] = [];
  /** The owners holding a reference, in the order they took it; [0] is the allocator. */
  private readonly holders: number[][] = [];
  /** PageAnonExclusive (include/linux/page-flags.h): the page is mapped by one mm only. */
  private readonly exclusive: boolean[] = [];
  private readonly tokens: number[] = [];
  private readonly entries: (Int32Array | undefined)[] = [];
  private readonly used: number[] = [];
  private readonly freeList: number[] = [];
  /** Backing store for table frames, TABLES_PER_CHUNK at a time (see tableArray). */
  private chunk: Int32Array | undefined;
  private chunkUsed = TABLES_PER_CHUNK;
  private anomalyLog: Anomaly[] = [];

  get frameCount(): number {
    return this.kinds.length;
  }

  /** Allocate a frame. A table frame is zeroed (pte_alloc_one returns a zeroed page). */
  alloc(kind: 'data' | 'table', owner: number, token = 0): number {
    const frame = this.freeList.pop() ?? this.kinds.length;
    this.kinds[frame] = kind;
    this.holders[frame] = [owner];
    this.exclusive[frame] = false;
    this.tokens[frame] = token;
    // A reused table frame's old entries are unreachable once it is reallocated, so zero its
    // array in place rather than allocating 2 KiB afresh (page-table churn drives the GC).
    const old = this.entries[frame];
    if (kind !== 'table') this.entries[frame] = undefined;
    else if (old !== undefined) old.fill(0);
    else this.entries[frame] = this.tableArray();
    this.used[frame] = 0;
    return frame;
  }

  /**
   * A fresh zeroed 512-entry array. Each ArrayBuffer of this size lives outside the JS heap
   * and costs an external allocation and a sweep; carving tables out of one buffer per
   * TABLES_PER_CHUNK keeps a world's page-table churn off that path.
   */
  private tableArray(): Int32Array {
    if (this.chunkUsed === TABLES_PER_CHUNK) {
      this.chunk = new Int32Array(TABLES_PER_CHUNK * ENTRIES);
      this.chunkUsed = 0;
    }
    const start = this.chunkUsed++ * ENTRIES;
    return this.chunk!.subarray(start, start + ENTRIES);
  }

  /** Free a frame; its content (token, or table entries) stays readable by stale walkers. */
  free(frame: number): void {
    this.check(frame);
    if (this.kinds[frame] === 'free') throw new HwError('mem', `double free of frame ${frame}`);
    if (this.holders[frame]!.length > 1) throw new HwError('mem', `free of frame ${frame}, still shared by owners ${this.holders[frame]!.join(', ')}`);
    this.kinds[frame] = 'free';
    this.freeList.push(frame);
  }

  /** folio_get for a new mapping by `owner` (fork's copy_present_pte shares the page). */
  get(frame: number, owner: number): void {
    this.check(frame);
    if (this.kinds[frame] !== 'data') throw new HwError('mem', `get of frame ${frame}, which is ${this.kinds[frame]}`);
    this.holders[frame]!.push(owner);
  }

  /** folio_put of `owner`'s reference: the frame is freed with the last one. Returns true when it was. */
  put(frame: number, owner: number): boolean {
    this.check(frame);
    const h = this.holders[frame]!;
    const i = h.indexOf(owner);
    if (this.kinds[frame] !== 'data' || i < 0) throw new HwError('mem', `put of frame ${frame} by owner ${owner}, which holds no reference`);
    if (h.length === 1) {
      this.free(frame);
      return true;
    }
    h.splice(i, 1);
    return false;
  }

  /** folio_ref_count: the references held. */
  refCount(frame: number): number {
    this.check(frame);
    return this.kinds[frame] === 'free' ? 0 : this.holders[frame]!.length;
  }

  /** Every owner holding a reference, in the order they took it (the leak check's view). */
  owners(frame: number): readonly number[] {
    this.check(frame);
    return this.holders[frame]!;
  }

  anonExclusive(frame: number): boolean {
    this.check(frame);
    return this.exclusive[frame]!;
  }

  /** SetPageAnonExclusive / ClearPageAnonExclusive. */
  setAnonExclusive(frame: number, value: boolean): void {
    this.check(frame);
    this.exclusive[frame] = value;
  }

  kind(frame: number): FrameKind {
    this.check(frame);
    return this.kinds[frame]!;
  }

  /** The owner that allocated the frame (the first holder, for a shared page). */
  owner(frame: number): number {
    this.check(frame);
    return this.holders[frame]![0]!;
  }

  token(frame: number): number {
    this.check(frame);
    return this.tokens[frame]!;
  }

  /** Software (kernel) read of a live table entry. */
  entry(table: number, index: number): number {
    return this.table(table)[index]!;
  }

  /** Software (kernel) write of a table entry; keeps the table's count of used entries. */
  setEntry(table: number, index: number, value: number): void {
    const t = this.table(table);
    const was = t[index]! !== 0;
    t[index] = value;
    this.used[table] = this.used[table]! + (value !== 0 ? 1 : 0) - (was ? 1 : 0);
  }

  /** Number of non-zero entries of a live table: a table with none can be freed. */
  usedEntries(table: number): number {
    this.table(table);
    return this.used[table]!;
  }

  /**
   * A hardware walker's read of a table entry. It reads whatever the frame holds: the stale
   * entries of a freed table, or nothing usable from a data frame, and logs either as an
   * anomaly. The caller names itself for the log.
   */
  hwEntry(table: number, index: number, by: string): number {
    hwWork();
    this.check(table);
    const kind = this.kinds[table]!;
    if (kind === 'table') return this.entries[table]![index]!;
    if (kind === 'free' && this.entries[table] !== undefined) {
      this.anomalyLog.push({ kind: 'walk-freed-table', frame: table, by });
      return this.entries[table]![index]!;
    }
    this.anomalyLog.push({ kind: 'walk-non-table', frame: table, by });
    return 0;
  }

  /** A DMA's access to a frame: returns the content token it reads, logging a stray access. */
  hwAccess(frame: number, by: string): number {
    hwWork();
    this.check(frame);
    if (this.kinds[frame] !== 'data') this.anomalyLog.push({ kind: 'dma-freed-frame', frame, by });
    return this.tokens[frame]!;
  }

  /** Anomalies since the last call; the harness takes them once per step. */
  takeAnomalies(): Anomaly[] {
    const out = this.anomalyLog;
    if (out.length > 0) this.anomalyLog = [];
    return out;
  }

  get anomalies(): readonly Anomaly[] {
    return this.anomalyLog;
  }

  /** Frames currently allocated, by kind: the leak check's raw material. */
  liveFrames(kind: 'data' | 'table'): number[] {
    const out: number[] = [];
    for (let f = 0; f < this.kinds.length; f++) if (this.kinds[f] === kind) out.push(f);
    return out;
  }

  private table(frame: number): Int32Array {
    this.check(frame);
    const t = this.entries[frame];
    if (this.kinds[frame] !== 'table' || t === undefined) {
      throw new HwError('mem', `frame ${frame} is not a live page table`);
    }
    return t;
  }

  private check(frame: number): void {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.kinds.length) {
      throw new HwError('mem', `frame ${frame} out of range [0, ${this.kinds.length - 1}]`);
    }
  }
}
