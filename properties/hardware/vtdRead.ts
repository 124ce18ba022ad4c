/**
 * Read-only access to the VT-d unit's caches for the invariants. The cache classes expose only
 * sorted, allocating `entries()` (for traces); the checks run after every step, so they read
 * the maps in place through TypeScript's element access to private members. Nothing is written.
 */
import type { PciDevice, AtcEntry } from '../../src/hw/device.js';
import type { CachedTranslation } from '../../src/hw/vtd/iotlb.js';
import type { PasidEntry } from '../../src/hw/vtd/pasidTable.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';
import type { IntelIommu } from '../../src/impl/vtd/dmar.js';
import type { World } from '../../src/impl/index.js';

export const PASID_SPACE = 2 ** 20;

/** IOTLB: (DID, PASID) key → vpn → translation. Key = did * 2^20 + pasid. */
export const iotlbOf = (u: Pick<VtdUnit, 'iotlb'>): ReadonlyMap<number, ReadonlyMap<number, CachedTranslation>> => u.iotlb['map'];
/** IOTLB, second-stage-only entries: DID → vpn → translation (no PASID tag). */
export const slIotlbOf = (u: Pick<VtdUnit, 'iotlb'>): ReadonlyMap<number, ReadonlyMap<number, CachedTranslation>> => u.iotlb['sl'];
/** IOTLB, nested (combined) entries: (DID, PASID) key → vpn → translation. */
export const nestedIotlbOf = (u: Pick<VtdUnit, 'iotlb'>): ReadonlyMap<number, ReadonlyMap<number, CachedTranslation>> => u.iotlb['nested'];
/** PSC: (DID, PASID) key → (prefix * 8 + level) → packed (frame * 4 + flags). */
export const pscOf = (u: Pick<VtdUnit, 'psc'>): ReadonlyMap<number, ReadonlyMap<number, number>> => u.psc['map'];
/** PASID cache: (sid * 2^20 + PASID) → snapshot. */
export const pasidCacheOf = (u: VtdUnit): ReadonlyMap<number, PasidEntry> => u.pasidCache['map'];
/** A device's ATC: PASID → vpn → entry. */
export const atcOf = (d: PciDevice): ReadonlyMap<number, ReadonlyMap<number, AtcEntry>> => d['atc'];

export const vtdUnits = (world: World): readonly IntelIommu[] => world.iommus as readonly IntelIommu[];

/** Whether a cached PASID entry still equals the one in memory (entries are replaced whole). */
export const samePasidEntry = (a: PasidEntry, b: PasidEntry | undefined): boolean =>
  b !== undefined && (a === b || (a.present === b.present && a.fpd === b.fpd && a.pgtt === b.pgtt &&
    a.flptr === b.flptr && a.slptr === b.slptr && a.did === b.did && a.levels === b.levels));
