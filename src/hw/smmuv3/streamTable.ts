import { HwError } from '../errors.js';
import type { CdTable } from './cdTable.js';

/** STE.Config: the stream is aborted, bypasses translation, or uses stage 1 (S1_TRANS). */
export type SteConfig = 'abort' | 'bypass' | 's1';

/** STE.S1DSS: what happens to traffic without a SubstreamID when stage 1 is on. */
export type S1Dss = 'terminate' | 'bypass' | 'ssid0';

/**
 * A Stream Table Entry (IHI0070 §5.2, the fields this model uses). Fields not used by the
 * current Config are IGNORED by the hardware, which is what lets the driver update an STE
 * hitlessly (arm_smmu_write_entry), so the record is flat rather than a union.
 */
export interface Ste {
  readonly v: boolean;
  readonly config: SteConfig;
  /** S1ContextPtr + S1Fmt: the master's CD table. */
  readonly cdTable: CdTable | undefined;
  /** S1CDMax: log2 of the number of SSIDs. */
  readonly s1cdmax: number;
  readonly s1dss: S1Dss;
  /** EATS: ATS translation requests are honoured. */
  readonly eats: boolean;
}

/** The boot-time STE (arm_smmu_init_initial_stes): valid, abort. */
export const STE_ABORT: Ste = { v: true, config: 'abort', cdTable: undefined, s1cdmax: 0, s1dss: 'terminate', eats: false };

/**
 * The stream table in memory: one STE per StreamID, abort until the driver writes one. A
 * sparse map stands for a linear or two-level table; what matters is that the SMMU caches what
 * it fetched until CFGI_STE + CMD_SYNC.
 */
export class StreamTable {
  private readonly stes = new Map<number, Ste>();

  constructor(
    readonly unit: string,
    readonly sidBits: number,
    private readonly ssidBits: number,
  ) {
    this.sidLimit = 2 ** sidBits;
  }

  /** 2^sidBits, computed once: every fetch checks its SID against it. */
  private readonly sidLimit: number;

  read(sid: number): Ste {
    this.checkSid(sid);
    return this.stes.get(sid) ?? STE_ABORT;
  }

  write(sid: number, ste: Ste): void {
    this.checkSid(sid);
    if (ste.v && ste.config === 's1') {
      if (ste.cdTable === undefined) throw new HwError(this.unit, `STE ${sid}: stage 1 without a CD table`);
      if (ste.cdTable.unit !== this.unit) throw new HwError(this.unit, `STE ${sid}: CD table of ${ste.cdTable.unit}`);
      if (ste.s1cdmax !== ste.cdTable.s1cdmax || ste.s1cdmax > this.ssidBits) {
        throw new HwError(this.unit, `STE ${sid}: S1CDMax ${ste.s1cdmax} does not fit the table or ${this.ssidBits} SSID bits`);
      }
    }
    this.stes.set(sid, ste);
  }

  /** The hardware's fetch, without the range check (the requester's SID was checked on connect). */
  fetch(sid: number): Ste {
    return this.stes.get(sid) ?? STE_ABORT;
  }

  checkSid(sid: number): void {
    if (!Number.isInteger(sid) || sid < 0 || sid >= this.sidLimit) {
      throw new HwError(this.unit, `SID ${sid} out of range [0, ${2 ** this.sidBits - 1}]`);
    }
  }
}
