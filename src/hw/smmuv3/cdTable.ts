import { HwError } from '../errors.js';

/**
 * A Context Descriptor as the SMMU reads it (IHI0070 §5.4, the fields SVA uses). V = valid;
 * EPD0 = no walks through TTB0 (the kernel's quiet CD); R = record faults; A = abort on a fault
 * (rather than RAZ/WI); S = stall. `levels` stands for T0SZ (4 or 5 translation levels at 4K)
 * and, like TTB0, is IGNORED by the hardware while EPD0 is set.
 */
export interface Cd {
  readonly v: boolean;
  readonly epd0: boolean;
  readonly r: boolean;
  readonly a: boolean;
  readonly s: boolean;
  readonly asid: number;
  /** T0SZ as a walk depth: 4 (48-bit VA) or 5; 0 when unused. */
  readonly levels: number;
  /** TTB0: the frame of the level-`levels` table (the mm's pgd). */
  readonly ttb0: number;
}

/** An all-zero CD: V clear, what a freshly allocated table holds. */
export const CD_ZERO: Cd = { v: false, epd0: false, r: false, a: false, s: false, asid: 0, levels: 0, ttb0: 0 };

/** CDs per leaf of a two-level CD table (CTXDESC_L2_ENTRIES). */
export const CTXDESC_L2_ENTRIES = 1024;

/**
 * A master's CD table, indexed by SSID: linear when it holds at most 1024 CDs, otherwise two
 * levels whose 1024-entry leaves are allocated on demand (STRTAB_STE_0_S1FMT_64K_L2), as
 * arm_smmu_alloc_cd_tables chooses. It is memory the driver writes and the SMMU reads: the
 * SMMU caches what it fetched, so a write is visible only after CFGI_CD + CMD_SYNC.
 */
export class CdTable {
  readonly format: 'linear' | '2lvl';
  /** Linear: one slot per SSID. Two-level: one leaf (or undefined = invalid L1CD) per 1024 SSIDs. */
  private readonly linear: Cd[] | undefined;
  private readonly leaves: (Cd[] | undefined)[] | undefined;

  constructor(
    readonly unit: string,
    /** STE.S1CDMax: log2 of the number of CDs. */
    readonly s1cdmax: number,
    private readonly asidBits: number,
  ) {
    const n = 2 ** s1cdmax;
    this.size = n;
    if (n <= CTXDESC_L2_ENTRIES) {
      this.format = 'linear';
      this.linear = new Array<Cd>(n).fill(CD_ZERO);
    } else {
      this.format = '2lvl';
      this.leaves = new Array<Cd[] | undefined>(n / CTXDESC_L2_ENTRIES).fill(undefined);
    }
  }

  /** 2^S1CDMax CDs; a field, since every SSID check reads it. */
  readonly size: number;

  /** Two-level only: is the leaf holding `ssid` allocated (its L1 descriptor valid)? */
  hasLeaf(ssid: number): boolean {
    this.checkSsid(ssid);
    return this.leaves === undefined || this.leaves[Math.floor(ssid / CTXDESC_L2_ENTRIES)] !== undefined;
  }

  /** Allocate the zeroed leaf holding `ssid` and make its L1 descriptor valid (idempotent). */
  allocLeaf(ssid: number): void {
    this.checkSsid(ssid);
    if (this.leaves === undefined) return;
    const i = Math.floor(ssid / CTXDESC_L2_ENTRIES);
    if (this.leaves[i] === undefined) this.leaves[i] = new Array<Cd>(CTXDESC_L2_ENTRIES).fill(CD_ZERO);
  }

  /** Software read of the CD in memory; CD_ZERO where no leaf exists. */
  read(ssid: number): Cd {
    return this.fetch(ssid) ?? CD_ZERO;
  }

  /** Software write of a CD. A malformed CD is a driver bug: HwError. */
  write(ssid: number, cd: Cd): void {
    this.checkSsid(ssid);
    if (cd.v) {
      if (!Number.isInteger(cd.asid) || cd.asid < 0 || cd.asid >= 2 ** this.asidBits) {
        throw new HwError(this.unit, `CD ${ssid}: ASID ${cd.asid} out of range [0, ${2 ** this.asidBits - 1}]`);
      }
      if (!cd.epd0 && ((cd.levels !== 4 && cd.levels !== 5) || !Number.isInteger(cd.ttb0) || cd.ttb0 < 0)) {
        throw new HwError(this.unit, `CD ${ssid}: bad TTB0/T0SZ (${cd.ttb0}, ${cd.levels} levels)`);
      }
    }
    if (this.linear !== undefined) {
      this.linear[ssid] = cd;
      return;
    }
    const leaf = this.leaves![Math.floor(ssid / CTXDESC_L2_ENTRIES)];
    if (leaf === undefined) throw new HwError(this.unit, `CD ${ssid}: write through an invalid L1 descriptor`);
    leaf[ssid % CTXDESC_L2_ENTRIES] = cd;
  }

  /** The SMMU's fetch: undefined when the L1 descriptor is invalid (the CD cannot be read). */
  fetch(ssid: number): Cd | undefined {
    if (this.linear !== undefined) return this.linear[ssid];
    return this.leaves![Math.floor(ssid / CTXDESC_L2_ENTRIES)]?.[ssid % CTXDESC_L2_ENTRIES];
  }

  private checkSsid(ssid: number): void {
    if (!Number.isInteger(ssid) || ssid < 0 || ssid >= this.size) {
      throw new HwError(this.unit, `SSID ${ssid} out of range [0, ${this.size - 1}] of the CD table`);
    }
  }
}
