/**
 * Topologies as arbitraries (issue 5): platform VT-d or SMMUv3, 1–3 IOMMUs with 1–4 devices
 * each, mixed ATS and PASID capability (some devices without PASID, some groups of two),
 * tiny PASID and ASID widths so exhaustion and reuse happen (and sometimes a PASID width that
 * needs a two-level CD table), 1–3 mms of 2–8 pages, 0–2
 * kernel pages, 4- or 5-level paging. Some ATS devices are PRI endpoints (VT-d: PRI enabled;
 * SMMUv3: stall-capable masters), so page requests, their service and the drain at unbind run.
 */
import fc from 'fast-check';
import type { DeviceSpec, IommuSpec, Platform, Topology } from '../src/shared/index.js';
import { PLATFORMS, defaultTopology } from '../src/shared/index.js';
import type { TopologyChoice } from '../src/harness/index.js';

const iommuSpec: fc.Arbitrary<IommuSpec> = fc.record({
  // Mostly tiny, so PASIDs run out and get reused; sometimes 11 bits, past the 1024 SSIDs of one
  // CD-table leaf, so SMMUv3 builds a two-level CD table and allocates leaves at bind (B13).
  pasidBits: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.constant(11) }),
  didBits: fc.constant(16),
  asidBits: fc.integer({ min: 2, max: 4 }),
  rangeInv: fc.boolean(),
  // Mostly a PRQ of a few entries, so the devices behind the unit overflow it.
  prqSize: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(16) }),
});

/** A device before it is placed: whether it joins the previous device's group. */
interface DeviceDraft {
  readonly pasidBits: number;
  readonly ats: boolean;
  readonly pri: boolean;
  readonly shareGroup: boolean;
}
const deviceDraft: fc.Arbitrary<DeviceDraft> = fc.record({
  // Mostly PASID-capable; 0 (no PASID) and widths narrower than the IOMMU's sometimes.
  pasidBits: fc.oneof({ weight: 6, arbitrary: fc.constant(20) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constant(0) }),
  ats: fc.boolean(),
  pri: fc.oneof({ weight: 2, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  shareGroup: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
});

/** Lays the drafts out behind their IOMMUs; a shared group never spans two IOMMUs. */
const place = (perIommu: readonly (readonly DeviceDraft[])[]): DeviceSpec[] => {
  const devices: DeviceSpec[] = [];
  let group = -1;
  perIommu.forEach((drafts, iommu) => {
    drafts.forEach((d, i) => {
      if (!(d.shareGroup && i > 0)) group++;
      // PRI needs ATS (a page request answers a failed ATS translation; intel_iommu_probe_device).
      devices.push({ iommu, group, pasidBits: d.pasidBits, ats: d.ats, pri: d.pri && d.ats });
    });
  });
  return devices;
};

export interface TopologyPins {
  readonly iommus?: number;
  readonly devicesPerIommu?: number;
  readonly mms?: number;
  readonly pages?: number;
  readonly ptLevels?: 4 | 5;
}

const count = (pin: number | undefined, min: number, max: number): fc.Arbitrary<number> =>
  pin === undefined ? fc.integer({ min, max }) : fc.constant(pin);

export const topologyArb = (platforms: readonly Platform[] = PLATFORMS, pins: TopologyPins = {}): fc.Arbitrary<Topology> =>
  fc.record({
    platform: fc.constantFrom(...platforms),
    layout: count(pins.iommus, 1, 3).chain((n) =>
      fc.tuple(
        fc.array(iommuSpec, { minLength: n, maxLength: n }),
        fc.array(fc.array(deviceDraft, { minLength: pins.devicesPerIommu ?? 1, maxLength: pins.devicesPerIommu ?? 4 }), { minLength: n, maxLength: n }),
      )),
    mms: count(pins.mms, 1, 3),
    pages: count(pins.pages, 2, 8),
    kpages: fc.integer({ min: 0, max: 2 }),
    ptLevels: pins.ptLevels === undefined ? fc.constantFrom(4 as const, 5 as const) : fc.constant(pins.ptLevels),
  }).map(({ platform, layout: [iommus, drafts], mms, pages, kpages, ptLevels }) => ({
    platform, iommus, devices: place(drafts), mms, pages, kpages, ptLevels,
  }));

/** The platform's default topology with the CLI's pins applied. */
export const pinnedDefault = (platform: Platform, pins: TopologyPins): Topology => {
  const t = defaultTopology(platform);
  const iommus = pins.iommus === undefined ? t.iommus : Array.from({ length: pins.iommus }, (_, i) => t.iommus[i % t.iommus.length]!);
  const per = pins.devicesPerIommu;
  const devices = pins.iommus === undefined && per === undefined
    ? t.devices
    : iommus.flatMap((_, iommu) => Array.from({ length: per ?? 2 }, (_, i) => ({ ...t.devices[i % t.devices.length]!, iommu, group: iommu * 4 + i })));
  return {
    ...t, iommus, devices,
    mms: pins.mms ?? t.mms,
    pages: pins.pages ?? t.pages,
    ptLevels: pins.ptLevels ?? t.ptLevels,
  };
};

/** The topologies a CLI run draws for one platform. */
export const topologyFor = (platform: Platform, choice: TopologyChoice): fc.Arbitrary<Topology> =>
  choice.mode === 'default' ? fc.constant(pinnedDefault(platform, choice)) : topologyArb([platform], choice);
