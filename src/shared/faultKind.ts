/**
 * Why a DMA faulted, as a closed set both sides can name: the impl's from the IOMMU's fault
 * record (src/hw FaultReason, one vocabulary for VT-d, SMMUv3 and AMD), the spec's from its
 * reason. The kinds are as fine as the spec can predict on every platform:
 * - `pasid-not-present`: the unit has no usable context for (RID, PASID): VT-d PASID entry not
 *   present or FPD, SMMUv3 CD not valid, EPD0, or no CD table / aborting STE, AMD GCR3 entry
 *   absent. One kind, because an exited mm shows as FPD/EPD0 on some platforms and as a cleared
 *   entry on others (measured over 300 runs each: VT-d and AMD no-pasid-entry, SMMUv3
 *   fault-disabled), and an unbound device on SMMUv3 as a missing CD or a missing CD table.
 * - `translation-not-present`: the PASID context is there, the page walk found no leaf;
 * - `permission`: a write to a read-only leaf;
 * - `no-pasid-cap`: the device cannot tag the request with that PASID;
 * - `pri-no-credit`: a PRI device had no page-request credit left;
 * - `device-stopped`: a PRI device asked for a page-request group at a PASID its driver has
 *   stopped for an unbind still under way (src/hw/device.ts stopPasid).
 * Strings outside both tables (a thrown member, a spec injection note) have no kind.
 */
export type FaultKind = 'pasid-not-present' | 'translation-not-present' | 'permission' | 'no-pasid-cap' | 'pri-no-credit' | 'device-stopped';

export const FAULT_KINDS: readonly FaultKind[] = ['pasid-not-present', 'translation-not-present', 'permission', 'no-pasid-cap', 'pri-no-credit', 'device-stopped'];

/** The hardware's fault reasons (src/hw/iommu.ts FaultReason), as `<unit>: <reason>` in an impl observation. */
const HW_KIND: ReadonlyMap<string, FaultKind> = new Map<string, FaultKind>([
  ['no-pasid-entry', 'pasid-not-present'],
  ['fault-disabled', 'pasid-not-present'],
  ['stream-abort', 'pasid-not-present'],
  ['not-present', 'translation-not-present'],
  ['no-permission', 'permission'],
  ['no-pasid-cap', 'no-pasid-cap'],
  ['stopped', 'device-stopped'],
]);

/** The spec's fault reasons (src/spec dmaFault). */
export type SpecFaultReason =
  | 'no PASID capability' | 'not bound' | 'mm exited' | 'page not present' | 'PROT_NONE' | 'read-only'
  | 'IOVA not mapped' | 'IOVA read-only' | 'no PRI credit' | 'PASID entry torn down by the replace' | 'device stopped';

const SPEC_KIND: Readonly<Record<SpecFaultReason, FaultKind>> = {
  'no PASID capability': 'no-pasid-cap',
  'not bound': 'pasid-not-present',
  'mm exited': 'pasid-not-present',
  // A DMA inside a replace's window (VT-d since c3b1edea3791: teardown, then setup).
  'PASID entry torn down by the replace': 'pasid-not-present',
  'page not present': 'translation-not-present',
  // A PROT_NONE PTE is not present to the IOMMU's walk.
  'PROT_NONE': 'translation-not-present',
  'IOVA not mapped': 'translation-not-present',
  'read-only': 'permission',
  'IOVA read-only': 'permission',
  'no PRI credit': 'pri-no-credit',
  'device stopped': 'device-stopped',
};

/** The PRI endpoint's own refusals (src/hw/device.ts). */
const DEVICE_KIND: ReadonlyMap<string, FaultKind> = new Map<string, FaultKind>([['PRI: no outstanding page request credit', 'pri-no-credit']]);

/** Both tables as one map (a Map: no prototype keys such as `constructor` can match). */
const TEXT_KIND: ReadonlyMap<string, FaultKind> = new Map<string, FaultKind>([...Object.entries(SPEC_KIND), ...DEVICE_KIND]);

/** `vtd0: not-present`, `smmu1: stream-abort`, `dev2: no-pasid-cap`. */
const UNIT_PREFIX = /^[a-z]+\d+: /;

/** The kind a fault's text names, or undefined when it names none. */
export const faultKindOf = (fault: string | undefined): FaultKind | undefined => {
  if (fault === undefined) return undefined;
  const unit = UNIT_PREFIX.exec(fault);
  return unit !== null ? HW_KIND.get(fault.slice(unit[0].length)) : TEXT_KIND.get(fault);
};
