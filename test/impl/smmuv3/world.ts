import { PciDevice } from '../../../src/hw/device.js';
import type { SmmuCmd } from '../../../src/hw/smmuv3/index.js';
import { handle_mm_fault } from '../../../src/impl/core/fault.js';
import { type CoreOptions, createKernel } from '../../../src/impl/core/kernel.js';
import { mm_alloc } from '../../../src/impl/core/mm.js';
import type { Device, IommuGroup, Kernel, MmStruct } from '../../../src/impl/core/types.js';
import { do_mmap } from '../../../src/impl/core/vma.js';
import { armSmmuV3Driver } from '../../../src/impl/smmuv3/smmu.js';
import type { ArmSmmuDevice, ArmSmmuMaster } from '../../../src/impl/smmuv3/structs.js';
import type { DeviceSpec, IommuSpec, Topology } from '../../../src/shared/index.js';
import { sync } from '../../../src/impl/core/sched.js';

export interface SmmuWorld {
  kernel: Kernel;
  smmus: ArmSmmuDevice[];
  devs: Device[];
  /** Every command submitted to each SMMU since the last `take`. */
  log: SmmuCmd[][];
  take(smmu?: number): SmmuCmd[];
  /** A live process in `slot` with pages [0, pages) mapped rw and touched. */
  spawn(slot: number, touched?: number): MmStruct;
}

export const smmuSpec = (over: Partial<IommuSpec> = {}): IommuSpec => ({ pasidBits: 8, didBits: 16, asidBits: 8, rangeInv: true, ...over });
export const devSpec = (iommu: number, group: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu, group, pasidBits: 20, ats: true, pri: false, ...over,
});

/** The world builder's job, by hand: kernel, SMMUs probed, devices probed (SID = device id). */
export const smmuWorld = (iommus: IommuSpec[], devices: DeviceSpec[], options: CoreOptions = {}): SmmuWorld => {
  const topology: Topology = { platform: 'smmuv3', iommus, devices, mms: 4, pages: 8, kpages: 1, ptLevels: 4 };
  const kernel = createKernel(topology, undefined, options);
  const smmus = iommus.map((_, i) => armSmmuV3Driver.probeIommu(kernel, i) as ArmSmmuDevice);
  const log: SmmuCmd[][] = smmus.map(() => []);
  smmus.forEach((s, i) => (s.unit.observer = { onSubmit: (_u, cmd) => log[i]!.push(cmd) }));
  const groups = new Map<number, IommuGroup>();
  const devs = devices.map((d, id) => {
    const iommu = smmus[d.iommu]!;
    const hw = new PciDevice(id, id, iommu.unit, d.pasidBits, d.ats, d.pri, kernel.mem);
    let group = groups.get(d.group);
    if (group === undefined) groups.set(d.group, (group = { id: d.group, devices: [], pasid_array: new Map(), domain: undefined, default_domain: undefined, blocking_domain: undefined, owner_cnt: 0 }));
    const max_pasids = d.pasidBits === 0 ? 0 : Math.min(2 ** d.pasidBits, iommu.max_pasids);
    const dev: Device = { id, hw, iommu, group, max_pasids, priv: undefined };
    group.devices.push(dev);
    armSmmuV3Driver.probeDevice(kernel, dev);
    return dev;
  });
  log.forEach((l) => (l.length = 0));
  return {
    kernel, smmus, devs, log,
    take(smmu = 0) {
      const out = [...log[smmu]!];
      log[smmu]!.length = 0;
      return out;
    },
    spawn(slot, touched = 0) {
      const mm = mm_alloc(kernel, slot, 1);
      do_mmap(mm, 0, 8, 'rw');
      for (let p = 0; p < touched; p++) sync(kernel, handle_mm_fault(mm, p, true));
      return mm;
    },
  };
};

export const master = (dev: Device): ArmSmmuMaster => dev.priv as ArmSmmuMaster;
export const kinds = (cmds: SmmuCmd[]): string[] => cmds.map((c) => c.kind);
