import { HwError } from '../errors.js';

/** PASID Granular Translation Type (PGTT): FL = 1, SL = 2, NESTED = 3, PT = 4 in the spec. */
export type Pgtt = 'FL' | 'SL' | 'NESTED' | 'PT';

/**
 * A scalable-mode PASID table entry, reduced to the fields SVA uses. Entries are immutable
 * values: software replaces a whole entry, so the PASID cache can hold the old one as a
 * snapshot without copying.
 */
export interface PasidEntry {
  readonly present: boolean;
  /** Fault Processing Disable: a non-present entry with FPD blocks DMA without fault records. */
  readonly fpd: boolean;
  readonly pgtt: Pgtt;
  /** First-level page-table pointer: the frame of the mm's pgd (or a first-stage domain's root). */
  readonly flptr: number;
  /** Second-level page-table pointer (SLPTPTR): the root of a second-stage domain's IOVA table; 0 unless SL or nested. */
  readonly slptr: number;
  readonly did: number;
  /** First-level paging mode (FLPM): 4- or 5-level walk. */
  readonly levels: 4 | 5;
}

/** The all-zero entry (pasid_clear_entry). */
export const CLEAR_PASID_ENTRY: PasidEntry = Object.freeze({
  present: false, fpd: false, pgtt: 'FL', flptr: 0, slptr: 0, did: 0, levels: 4,
} as const);

/** The cleared entry with FPD kept set (pasid_clear_entry_with_fpd). */
export const FPD_PASID_ENTRY: PasidEntry = Object.freeze({ ...CLEAR_PASID_ENTRY, fpd: true });

/** `next` is `old` with at most its P bit cleared. */
const onlyPresentCleared = (old: PasidEntry, next: PasidEntry): boolean =>
  old === next || (next.fpd === old.fpd && next.pgtt === old.pgtt && next.flptr === old.flptr &&
    next.slptr === old.slptr && next.did === old.did && next.levels === old.levels);

/**
 * A 64-bit word of a scalable-mode PASID entry as the model splits its fields (VT-d spec 9.6):
 * val[0] holds P, FPD, AW, PGTT and SLPTPTR; val[1] the DID; val[2] FLPM and FLPTR. 'P' is the
 * store of val[0] that changes only the Present bit. `levels` is AW (val[0]) for a second-level
 * or nested entry and FLPM (val[2]) for a first-level one.
 */
export type PasidWord = 0 | 1 | 2 | 'P';

const sameEntry = (a: PasidEntry, b: PasidEntry): boolean =>
  a === b || (a.present === b.present && onlyPresentCleared(a, b));

function mergeWord(cur: PasidEntry, word: PasidWord, to: PasidEntry): PasidEntry {
  const flLevels = to.pgtt === 'FL';
  switch (word) {
    case 'P': return { ...cur, present: to.present };
    case 0: return { ...cur, present: to.present, fpd: to.fpd, pgtt: to.pgtt, slptr: to.slptr, levels: flLevels ? cur.levels : to.levels };
    case 1: return { ...cur, did: to.did };
    case 2: return { ...cur, flptr: to.flptr, levels: flLevels ? to.levels : cur.levels };
  }
}

/** PASID_PDE_SHIFT: a directory entry points at a leaf of 64 PASID entries. */
export const PASID_PDE_SHIFT = 6;
export const PASID_PTE_MASK = (1 << PASID_PDE_SHIFT) - 1;

/**
 * A device's scalable-mode PASID table: a directory whose entries point at 64-entry leaves.
 *
 * Leaves are allocated by the driver side (intel_pasid_get_entry allocates a missing leaf and
 * publishes it with cmpxchg on the directory entry), never by the hardware: a walk that meets a
 * non-present directory entry faults. The directory covers `maxPasid` PASIDs
 * (pasid_table->max_pasid); the table is memory shared by software and hardware, so the
 * hardware's reads see every software write at once, and only the PASID cache can hold an old
 * value.
 */
export class PasidTable {
  /**
   * The directory, sparse: directory index → leaf, only for present directory entries. A dense
   * array would be 16,384 slots per device at a 20-bit width (allocated at every probe and
   * walked by entries()) while SVA uses one or two leaves.
   */
  private readonly dir = new Map<number, PasidEntry[]>();

  /**
   * PASIDs whose present entry software rewrote in place beyond its P bit, since the log was
   * last cleared. The entry is 512 bits written as several 64-bit stores while the hardware may
   * fetch it in 128-bit chunks, so such a write can be seen torn (VT-d spec 6.5.3.3: clear P,
   * invalidate, then change the other fields). Only clearing P (or nothing) is safe.
   */
  readonly liveRewrites: number[] = [];

  constructor(readonly maxPasid: number) {
    if (!Number.isInteger(maxPasid) || maxPasid < 64 || maxPasid % 64 !== 0) {
      throw new HwError('pasid-table', `bad directory size ${maxPasid}`);
    }
  }

  /** Whether the leaf covering `pasid` has been allocated (directory entry present). */
  hasLeaf(pasid: number): boolean {
    return this.dir.has(this.check(pasid) >> PASID_PDE_SHIFT);
  }

  /** Software: allocate and publish the leaf covering `pasid` (a zeroed page). */
  allocLeaf(pasid: number): void {
    const d = this.check(pasid) >> PASID_PDE_SHIFT;
    if (!this.dir.has(d)) this.dir.set(d, new Array<PasidEntry>(64).fill(CLEAR_PASID_ENTRY));
  }

  /** Software read of an entry; the leaf must exist. */
  read(pasid: number): PasidEntry {
    return this.leaf(pasid)[pasid & PASID_PTE_MASK]!;
  }

  /**
   * Software write of a whole entry; the leaf must exist. `judged`: a word store (storeWord)
   * whose whole write noteWrite already judged. Word stores come through here too, so a test
   * that intercepts `write` sees every store.
   */
  write(pasid: number, entry: PasidEntry, judged = false): void {
    const leaf = this.leaf(pasid);
    const i = pasid & PASID_PTE_MASK;
    const old = leaf[i]!;
    if (!judged && old.present && !onlyPresentCleared(old, entry)) this.liveRewrites.push(pasid);
    leaf[i] = entry;
  }

  /**
   * Software: judge a write of `entry` over the current one before its words are stored one by
   * one (storeWord): the live-rewrite log is about the whole old → new transition, as `write`.
   */
  noteWrite(pasid: number, entry: PasidEntry): void {
    const old = this.read(pasid);
    if (old.present && !onlyPresentCleared(old, entry)) this.liveRewrites.push(pasid);
  }

  /**
   * Software: one 64-bit WRITE_ONCE of `word` (pe->val[word]), taking that word's fields from
   * `to` and leaving the others as they are; `present` alone stands for the P-bit store
   * (pasid_set_present / pasid_clear_present, bit 0 of val[0]). Between two such stores the
   * hardware fetches the half-written entry. When the last store completes `to`, the table
   * holds `to` itself, so a complete entry fetches exactly as a whole-entry write leaves it.
   */
  storeWord(pasid: number, word: PasidWord, to: PasidEntry): void {
    const next = mergeWord(this.read(pasid), word, to);
    this.write(pasid, sameEntry(next, to) ? to : next, true);
  }

  /**
   * Hardware fetch: undefined when the PASID is beyond the directory or its leaf is absent,
   * which the walker reports as a non-present entry (a fault, not a software bug).
   */
  fetch(pasid: number): PasidEntry | undefined {
    if (pasid >= this.maxPasid) return undefined;
    return this.dir.get(pasid >> PASID_PDE_SHIFT)?.[pasid & PASID_PTE_MASK];
  }

  /** Present or FPD entries, by PASID: for invariants and traces. */
  entries(): { pasid: number; entry: PasidEntry }[] {
    const out: { pasid: number; entry: PasidEntry }[] = [];
    // Leaves are allocated in any order; walk them by directory index so output is by PASID.
    const dirs = [...this.dir.keys()].sort((a, b) => a - b);
    for (const d of dirs) {
      const leaf = this.dir.get(d)!;
      for (let i = 0; i < leaf.length; i++) {
        const entry = leaf[i]!;
        if (entry.present || entry.fpd) out.push({ pasid: (d << PASID_PDE_SHIFT) | i, entry });
      }
    }
    return out;
  }

  private leaf(pasid: number): PasidEntry[] {
    const leaf = this.dir.get(this.check(pasid) >> PASID_PDE_SHIFT);
    if (leaf === undefined) throw new HwError('pasid-table', `PASID ${pasid}: leaf not allocated`);
    return leaf;
  }

  private check(pasid: number): number {
    if (!Number.isInteger(pasid) || pasid < 0 || pasid >= this.maxPasid) {
      throw new HwError('pasid-table', `PASID ${pasid} out of range [0, ${this.maxPasid - 1}]`);
    }
    return pasid;
  }
}
