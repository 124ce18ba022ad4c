/** Small worlds on the mock driver for the core's tests. */
import type { DeviceSpec, IommuSpec, Platform, Topology } from '../../../src/shared/index.js';
import { implStep } from '../../../src/impl/dispatch.js';
import { createWorld, type World } from '../../../src/impl/world.js';
import type { CoreOptions } from '../../../src/impl/core/kernel.js';
import type { Command, Observation } from '../../../src/shared/index.js';
import { MockDriver, type MockConfig } from '../mockDriver.js';
import { spawn, bind, unbind, mmap, touch, munmap, dma, exit, mmdrop, grace } from '../../commands.js';
export { spawn, bind, unbind, mmap, touch, munmap, dma, exit, mmdrop, grace };

export const iommuSpec = (over: Partial<IommuSpec> = {}): IommuSpec => ({ pasidBits: 8, didBits: 16, asidBits: 8, rangeInv: true, ...over });
export const devSpec = (iommu: number, group: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu, group, pasidBits: 8, ats: false, pri: false, ...over,
});

export interface Setup {
  platform?: Platform;
  iommus?: IommuSpec[];
  devices?: DeviceSpec[];
  mms?: number;
  pages?: number;
  kpages?: number;
  config?: MockConfig;
  options?: CoreOptions;
}

export interface MockWorld {
  readonly world: World;
  readonly driver: MockDriver;
  /** Step a command; throws on an impl exception like the harness does. */
  step(cmd: Command): Observation;
  /** Step several and return the last observation. */
  run(...cmds: Command[]): Observation;
}

export function mockWorld(s: Setup = {}): MockWorld {
  const platform = s.platform ?? 'vtd';
  const topology: Topology = {
    platform,
    iommus: s.iommus ?? [iommuSpec()],
    devices: s.devices ?? [devSpec(0, 0), devSpec(0, 1)],
    mms: s.mms ?? 3,
    pages: s.pages ?? 8,
    kpages: s.kpages ?? 2,
    ptLevels: 4,
  };
  const driver = new MockDriver(platform, s.config ?? {});
  const world = createWorld(topology, driver, undefined, s.options ?? {});
  const step = (cmd: Command): Observation => implStep(world, cmd);
  return {
    world, driver, step,
    run: (...cmds: Command[]) => {
      let last: Observation = { ok: true };
      for (const c of cmds) last = step(c);
      return last;
    },
  };
}

