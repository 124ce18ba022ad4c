/**
 * The world: one booted kernel on its emulated machine. createWorld probes the IOMMUs and
 * devices of a topology through a platform driver, exactly once, and sets up the mm slots the
 * commands address. Everything the harness needs to step and inspect the system hangs off it;
 * it mutates only itself.
 */
import { PciDevice } from '../hw/device.js';
import type { KernelSpace } from '../hw/pagetable.js';
import type { Topology, TraceSink } from '../shared/index.js';
import { IOVA_PAGES, MAX_HWPTS, topologyError } from '../shared/index.js';
import type { GuestS1Table } from './guestS1.js';
import type { ContentCounters } from './core/content.js';
import { type CoreGlobals, type CoreOptions, coreOf, createKernel } from './core/kernel.js';
import type { Device, IommuDevice, IommuDomain, IommuDriver, IommuGroup, IommuSva, Kernel, MmStruct } from './core/types.js';

/** The harness's "file descriptor" on a bond: the handle a (dev, slot) bind returned, and how many binds it holds. */
export interface Fd {
  readonly handle: IommuSva;
  binds: number;
}

/**
 * An iommufd HWPT slot: its paging domain (allocated by the first attachPasid, kept after),
 * the kernel buffer behind each mapped IOVA page, and the PASID it is attached at per group.
 */
export interface HwptSlot {
  domain: IommuDomain | undefined;
  readonly frames: (number | undefined)[];
  readonly pasid: Map<IommuGroup, number>;
  /** The nested HWPT (NESTED_HWPT): the guest's stage-1 table, made with the first domain; gone with the nest parent's IOAS. */
  guest?: GuestS1Table | undefined;
}

export type SlotState = 'unborn' | 'live' | 'exited' | 'dropped' | 'freed';

export interface World {
  readonly topology: Topology;
  readonly driver: IommuDriver;
  readonly kernel: Kernel;
  /** The kernel half shared by every pgd (vmalloc lives here). */
  readonly kspace: KernelSpace;
  readonly iommus: readonly IommuDevice[];
  /** Devices by global id (= index in the topology = stream/requester id). */
  readonly devices: readonly Device[];
  /** iommu_groups in order of first appearance. */
  readonly groups: readonly IommuGroup[];
  /** The mm_struct each slot holds now; a freed one stays until the slot is reused. */
  readonly mms: (MmStruct | undefined)[];
  /** Incarnations started in each slot so far. */
  readonly incarnations: number[];
  /** The exited process still holds its lazy-TLB mm_count reference (exit ran, mmdrop not yet). */
  readonly lazyRef: boolean[];
  /** fds[slot][dev]: the bond of the slot's current mm with dev (uacce: one bind per fopen). */
  readonly fds: (Fd | undefined)[][];
  /** Population counters behind the content tokens. */
  readonly content: ContentCounters;
  /** The core's globals (PASID IDA, iommu_sva_mms, live objects, WARNs). */
  readonly core: CoreGlobals;
  /** iommufd paging domains by HWPT id (MAX_HWPTS). */
  readonly hwpts: readonly HwptSlot[];
}

export function createWorld(topology: Topology, driver: IommuDriver, trace?: TraceSink, options: CoreOptions = {}): World {
  const bad = topologyError(topology);
  if (bad !== undefined) throw new Error(`invalid topology: ${bad}`);
  if (topology.platform !== driver.platform) throw new Error(`driver for ${driver.platform} on a ${topology.platform} topology`);
  const kernel = createKernel(topology, trace, options);
  const core = coreOf(kernel);

  const iommus = topology.iommus.map((_, i) => driver.probeIommu(kernel, i));
  const groups: IommuGroup[] = [];
  const byNumber = new Map<number, IommuGroup>();
  const devices: Device[] = [];
  for (const [id, spec] of topology.devices.entries()) {
    const iommu = iommus[spec.iommu]!;
    let group = byNumber.get(spec.group);
    if (group === undefined) {
      group = { id: spec.group, devices: [], pasid_array: new Map(), domain: undefined, default_domain: undefined, blocking_domain: undefined, owner_cnt: 0 };
      byNumber.set(spec.group, group);
      groups.push(group);
    }
    const hw = new PciDevice(id, id, iommu.unit, spec.pasidBits, spec.ats, spec.pri, kernel.mem);
    // drivers/iommu/iommu.c: dev_iommu_get_max_pasids (v6.17): min(pci_max_pasids, iommu->max_pasids).
    const dev: Device = { id, hw, iommu, group, max_pasids: Math.min(hw.maxPasids, iommu.max_pasids), priv: undefined };
    group.devices.push(dev);
    devices.push(dev);
    driver.probeDevice(kernel, dev);
    // iommu_setup_default_domain: every driver here defaults to its identity domain, which the
    // driver's probe has already set the device up for (VT-d writes no pass-through entry).
    group.default_domain ??= iommu.ops.identity_domain;
    group.domain ??= group.default_domain;
  }
  const slots = topology.mms;
  return {
    topology, driver, kernel, kspace: core.kspace, iommus, devices, groups,
    mms: new Array<MmStruct | undefined>(slots).fill(undefined),
    incarnations: new Array<number>(slots).fill(0),
    lazyRef: new Array<boolean>(slots).fill(false),
    fds: Array.from({ length: slots }, () => new Array<Fd | undefined>(devices.length).fill(undefined)),
    content: core.content,
    core,
    hwpts: Array.from({ length: MAX_HWPTS }, () => ({
      domain: undefined, frames: new Array<number | undefined>(IOVA_PAGES).fill(undefined), pasid: new Map(),
    })),
  };
}

/** The lifecycle state of a slot, as contracts.md names them. */
export function slotState(world: World, slot: number): SlotState {
  const mm = world.mms[slot];
  if (mm === undefined) return 'unborn';
  if (mm.freed) return 'freed';
  if (!mm.exited) return 'live';
  return world.lazyRef[slot] ? 'exited' : 'dropped';
}
