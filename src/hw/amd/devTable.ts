/**
 * The device table and the per-device GCR3 tables (48882 §2.2.2 "Device Table Entry Format",
 * §2.2.6 "Guest CR3 Table"), reduced to the fields SVA programs. Both are memory that software
 * writes and the IOMMU reads; only the IOMMU's caches (unit.ts) can hold an old value.
 */
import { HwError } from '../errors.js';

/**
 * A device table entry. V/TV: the entry and its translation fields are valid. Mode 0 with a
 * GCR3 table is the identity RID domain with guest (PASID) translation on top, what the driver
 * sets up for an SVA-capable device (set_dte_gcr3_table on the identity domain).
 */
export interface Dte {
  readonly v: boolean;
  readonly tv: boolean;
  /** GV: guest translation (PASID-tagged requests) enabled; the GCR3 table root is valid. */
  readonly gv: boolean;
  /** GIOV: untagged requests use GCR3[0] (v2 page-table domains only; never for SVA). */
  readonly giov: boolean;
  /** GLX: GCR3 table levels minus one (0: one level of 512 PASIDs, 1: two levels, 2: three). */
  readonly glx: number;
  readonly gcr3: Gcr3Table | undefined;
  readonly domid: number;
  /** PPR: the device's page requests go to the PPR log. */
  readonly ppr: boolean;
  /** I: the device has an IOTLB (ATS). */
  readonly iotlb: boolean;
  /** Guest page-table levels (DTE[GPT level]): 4 or 5. */
  readonly gptLevels: 4 | 5;
}

export const CLEAR_DTE: Dte = Object.freeze({
  v: false, tv: false, gv: false, giov: false, glx: 0, gcr3: undefined, domid: 0, ppr: false, iotlb: false, gptLevels: 4,
} as const);

/** One GCR3 table entry: the guest CR3 (here the mm's pgd frame) and its valid bit. */
export interface Gcr3Entry {
  readonly valid: boolean;
  readonly cr3: number;
}

const GCR3_ENTRIES = 512;

/**
 * A device's GCR3 table: `glx + 1` levels of 512-entry tables indexed by 9 PASID bits each
 * (__get_gcr3_pte). Non-leaf levels are allocated by software when an entry below them is first
 * written; the IOMMU's walk stops at a missing one. Sparse: leaf index → leaf.
 */
export class Gcr3Table {
  private readonly leaves = new Map<number, Gcr3Entry[]>();
  /** Freed by software (free_gcr3_table): a walk through it is a use-after-free. */
  freed = false;

  constructor(readonly unit: string, readonly glx: number) {
    if (!Number.isInteger(glx) || glx < 0 || glx > 2) throw new HwError(unit, `GLX ${glx} out of range [0, 2]`);
  }

  /** PASIDs the table can index. */
  get span(): number {
    return GCR3_ENTRIES ** (this.glx + 1);
  }

  /** Whether the leaf covering `pasid` exists (software allocated it). */
  hasLeaf(pasid: number): boolean {
    return this.leaves.has(Math.floor(pasid / GCR3_ENTRIES));
  }

  /** Software: allocate the levels down to `pasid`'s leaf (get_zeroed_page per missing level). */
  allocLeaf(pasid: number): void {
    this.checkPasid(pasid);
    const k = Math.floor(pasid / GCR3_ENTRIES);
    if (!this.leaves.has(k)) this.leaves.set(k, []);
  }

  /** Software writes one entry; its leaf must exist. */
  write(pasid: number, e: Gcr3Entry): void {
    this.checkPasid(pasid);
    const leaf = this.leaves.get(Math.floor(pasid / GCR3_ENTRIES));
    if (leaf === undefined) throw new HwError(this.unit, `GCR3 write to PASID ${pasid} without its table level`);
    leaf[pasid % GCR3_ENTRIES] = e;
  }

  /** The entry as memory holds it (what the IOMMU reads on a GCR3-cache miss). */
  fetch(pasid: number): Gcr3Entry | undefined {
    if (pasid < 0 || pasid >= this.span) return undefined;
    return this.leaves.get(Math.floor(pasid / GCR3_ENTRIES))?.[pasid % GCR3_ENTRIES];
  }

  /** Valid entries, by PASID: for invariants and traces. */
  entries(): { pasid: number; entry: Gcr3Entry }[] {
    const out: { pasid: number; entry: Gcr3Entry }[] = [];
    for (const k of [...this.leaves.keys()].sort((a, b) => a - b)) {
      const leaf = this.leaves.get(k)!;
      leaf.forEach((e, i) => {
        if (e?.valid === true) out.push({ pasid: k * GCR3_ENTRIES + i, entry: e });
      });
    }
    return out;
  }

  private checkPasid(pasid: number): void {
    if (!Number.isInteger(pasid) || pasid < 0 || pasid >= this.span) throw new HwError(this.unit, `PASID ${pasid} beyond GLX ${this.glx}`);
  }
}

/**
 * The device table: DevID → entry. The IOMMU reads an entry in one 256-bit transaction, but
 * the driver writes it as two 128-bit halves (update_dte256: write_dte_lower128 holds
 * DTE[127:0] — V, TV, GV, GIoV, GLX, the GCR3 root, DomainID, PPR, I — and write_dte_upper128
 * DTE[255:128], of which SVA uses the guest paging level). Between the two stores a fetch sees
 * one half new and one old: the order rule (V|GV written last when setting, first when
 * clearing) is what keeps that intermediate entry harmless.
 */
export class DevTable {
  private readonly dtes = new Map<number, DteSlot>();

  constructor(readonly unit: string) {}

  /** The entry as memory holds it now (a complete entry is the very object written). */
  get(devid: number): Dte {
    return this.dtes.get(devid)?.view ?? CLEAR_DTE;
  }

  /** Both halves at once (setup code and tests): what a fetch then sees is `dte` itself. */
  set(devid: number, dte: Dte): void {
    this.check(devid, dte, dte);
    this.dtes.set(devid, { lower: dte, upper: dte, view: dte });
  }

  /** write_dte_lower128: DTE[127:0] from `dte`; DTE[255:128] stays as memory holds it. */
  writeLower128(devid: number, dte: Dte): void {
    const slot = this.slot(devid);
    this.check(devid, dte, slot.upper);
    slot.lower = dte;
    slot.view = compose(dte, slot.upper);
  }

  /** write_dte_upper128: DTE[255:128] from `dte`; DTE[127:0] stays as memory holds it. */
  writeUpper128(devid: number, dte: Dte): void {
    const slot = this.slot(devid);
    this.check(devid, slot.lower, dte);
    slot.upper = dte;
    slot.view = compose(slot.lower, dte);
  }

  private slot(devid: number): DteSlot {
    let s = this.dtes.get(devid);
    if (s === undefined) this.dtes.set(devid, (s = { lower: CLEAR_DTE, upper: CLEAR_DTE, view: CLEAR_DTE }));
    return s;
  }

  private check(devid: number, lower: Dte, _upper: Dte): void {
    if (!Number.isInteger(devid) || devid < 0 || devid > 0xffff) throw new HwError(this.unit, `DevID ${devid} out of range`);
    if (lower.gv && lower.gcr3 === undefined) throw new HwError(this.unit, `DTE ${devid}: GV without a GCR3 table root`);
  }
}

/** Where each half of a DTE came from, and the entry a fetch sees (built once per store). */
interface DteSlot {
  lower: Dte;
  upper: Dte;
  view: Dte;
}

/** The entry memory holds: the lower half's fields with the upper half's guest paging level. */
function compose(lower: Dte, upper: Dte): Dte {
  if (lower === upper || lower.gptLevels === upper.gptLevels) return lower;
  return Object.freeze({ ...lower, gptLevels: upper.gptLevels });
}
