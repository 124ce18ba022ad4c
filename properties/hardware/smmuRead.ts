/**
 * Read-only access to the SMMUv3's caches and the driver's ASID table for the invariants (see
 * vtdRead.ts for why the maps are read in place). Nothing is written.
 */
import type { Cd, Ste, SmmuV3, TlbEntry } from '../../src/hw/smmuv3/index.js';
import type { World } from '../../src/impl/index.js';
import type { ArmSmmuDevice, ArmSmmuDomain } from '../../src/impl/smmuv3/structs.js';

/** TLB: ASID → vpn → translation. */
export const tlbOf = (u: SmmuV3): ReadonlyMap<number, ReadonlyMap<number, TlbEntry>> => u.tlb['byAsid'];
/** Walk cache: ASID → walkKey(level, prefix) (src/hw/walkKey.ts) → table frame. */
export const walkCacheOf = (u: SmmuV3): ReadonlyMap<number, ReadonlyMap<number, number>> => u.walkCache['byAsid'];
/** CD cache: (sid * 2^20 + ssid) → CD. */
export const cdCacheOf = (u: SmmuV3): ReadonlyMap<number, Cd> => u.config['cds'];
/** STE cache: sid → STE. */
export const steCacheOf = (u: SmmuV3): ReadonlyMap<number, Ste> => u.config['stes'];

export const SSID_SPACE = 0x100000;

export const smmuUnits = (world: World): readonly ArmSmmuDevice[] => world.iommus as readonly ArmSmmuDevice[];

/** The live domain holding `asid` in the global arm_smmu_asid_xa, or undefined when it is free. */
export function asidOwner(world: World, asid: number): ArmSmmuDomain | undefined {
  const first = world.iommus[0] as ArmSmmuDevice | undefined;
  const d = first?.asid_xa.xa_load(asid);
  return d === undefined || d.freed ? undefined : d;
}

/** The CD the SMMU would fetch for (sid, ssid) from memory now, through the STE in memory. */
export function memoryCd(u: SmmuV3, sid: number, ssid: number): Cd | undefined {
  const ste = u.streamTable.fetch(sid);
  if (!ste.v || ste.config !== 's1' || ste.cdTable === undefined || ssid >= 2 ** ste.s1cdmax) return undefined;
  return ste.cdTable.fetch(ssid);
}

/** Whether a CD translates (valid, walks TTB0). */
export const cdTranslates = (cd: Cd | undefined): boolean => cd !== undefined && cd.v && !cd.epd0;

/** Whether two CDs agree on every field the SMMU uses (TTB0/T0SZ are ignored under EPD0). */
export const sameCd = (a: Cd, b: Cd | undefined): boolean =>
  b !== undefined && (a === b || (a.v === b.v && a.epd0 === b.epd0 && a.r === b.r && a.a === b.a && a.s === b.s &&
    a.asid === b.asid && (a.epd0 || (a.levels === b.levels && a.ttb0 === b.ttb0))));

export const sameSte = (a: Ste, b: Ste): boolean =>
  a === b || (a.v === b.v && a.config === b.config && a.cdTable === b.cdTable && a.s1cdmax === b.s1cdmax &&
    a.s1dss === b.s1dss && a.eats === b.eats);
