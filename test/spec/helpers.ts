import type { Command, DeviceSpec, IommuSpec, Observation, Topology } from '../../src/shared/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { precondition, specStep } from '../../src/spec/index.js';
import type { SpecState } from '../../src/spec/index.js';
import { bind, unbind, spawn, dma } from '../commands.js';
export { bind, unbind, spawn, dma };

/** Steps a legal command; throws if the precondition does not hold (so tests stay legal). */
export const run = (s: SpecState, cmd: Command): Observation => {
  if (!precondition(s, cmd)) throw new Error(`illegal in this state: ${JSON.stringify(cmd)}`);
  return specStep(s, cmd);
};

const iommu = (over: Partial<IommuSpec> = {}): IommuSpec => ({ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, ...over });
const dev = (i: number, iommuIdx: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu: iommuIdx, group: i, pasidBits: 20, ats: true, pri: false, ...over,
});

/** A small topology built from overrides. */
export const topo = (
  platform: 'vtd' | 'smmuv3',
  iommus: Partial<IommuSpec>[],
  devices: [number, Partial<DeviceSpec>][],
  mms = 3,
): Topology => ({
  ...defaultTopology(platform),
  iommus: iommus.map((o) => iommu(o)),
  devices: devices.map(([i, o], k) => dev(k, i, o)),
  mms,
});

