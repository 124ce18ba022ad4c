/**
 * Which step detached a PASID: an unbind after which no device of the group is bound to the mm
 * any more (the group shares one handle, so only then does the core detach every device).
 */
import type { Device, MmStruct } from '../../src/impl/index.js';
import type { CheckContext } from '../invariant.js';

export interface Detach {
  readonly mm: MmStruct;
  readonly pasid: number;
  /** The group's PASID-capable devices, all detached at `pasid`. */
  readonly devs: readonly Device[];
}

export function lastUnbind(ctx: CheckContext): Detach | undefined {
  const { cmd, world } = ctx;
  if (cmd.kind !== 'unbind') return undefined;
  const row = world.fds[cmd.mm]!;
  const group = world.devices[cmd.dev]!.group.devices;
  for (const d of group) if (row[d.id] !== undefined) return undefined;
  const mm = world.mms[cmd.mm];
  const pasid = mm?.iommu_mm?.pasid;
  if (mm === undefined || pasid === undefined) return undefined;
  return { mm, pasid, devs: group.filter((d) => d.max_pasids > pasid) };
}
