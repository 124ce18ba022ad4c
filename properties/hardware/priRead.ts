/**
 * Read-only views of where a page request can be, for the PRI invariants: in the IOMMU's
 * hardware queue (VT-d PRQ, SMMUv3 event queue), in the kernel (a reported iopf group awaiting
 * its response, or queued work), or at the endpoint (outstanding, holding a credit).
 */
import type { SmmuV3 } from '../../src/hw/smmuv3/index.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';
import type { AmdIommuUnit } from '../../src/hw/amd/index.js';
import { dev_fault_param } from '../../src/impl/core/iopf.js';
import type { Device, World } from '../../src/impl/index.js';

export interface QueuedRequest {
  readonly pasid: number;
  readonly prgi: number;
}

/** Whether `dev`'s IOMMU hardware queue is empty (no allocation: the per-step fast path). */
export function hwQueueEmpty(world: World, dev: Device): boolean {
  const p = world.topology.platform;
  if (p === 'amd') return (dev.iommu.unit as AmdIommuUnit).pprLog.pending.length === 0;
  return p === 'vtd' ? (dev.iommu.unit as VtdUnit).prq.pending.length === 0 : (dev.iommu.unit as SmmuV3).evtq.length === 0;
}

/** Requests of `dev` still in its IOMMU's hardware queue. */
export function hwQueued(world: World, dev: Device): QueuedRequest[] {
  const out: QueuedRequest[] = [];
  const sid = dev.hw.sid;
  if (world.topology.platform === 'vtd') {
    for (const r of (dev.iommu.unit as VtdUnit).prq.pending) if (r.sid === sid) out.push({ pasid: r.pasid, prgi: r.prgi });
  } else if (world.topology.platform === 'amd') {
    for (const e of (dev.iommu.unit as AmdIommuUnit).pprLog.pending) if (e.devid === sid) out.push({ pasid: e.pasid, prgi: e.tag });
  } else {
    for (const e of (dev.iommu.unit as SmmuV3).evtq) if (e.sid === sid) out.push({ pasid: e.ssid, prgi: e.stag });
  }
  return out;
}

/** Groups of `dev` the kernel has reported and not answered (iommu_fault_param.faults). */
export function kernelPending(dev: Device): QueuedRequest[] {
  const p = dev_fault_param(dev);
  if (p === undefined) return [];
  return p.faults.map((g) => ({ pasid: g.last_fault.prm.pasid, prgi: g.last_fault.prm.grpid }));
}

/** Work items of `dev` queued on its fault queue's workqueue and not run yet. */
export function workQueued(dev: Device): QueuedRequest[] {
  const p = dev_fault_param(dev);
  if (p === undefined) return [];
  return p.queue.wq.filter((g) => g.fault_param.dev === dev).map((g) => ({ pasid: g.last_fault.prm.pasid, prgi: g.last_fault.prm.grpid }));
}

/** The CPU page-table root of the mm attached at (dev's group, pasid) now, or -1. */
export function boundRoot(dev: Device, pasid: number): number {
  const e = dev.group.pasid_array.get(pasid);
  if (e === undefined || e.kind !== 'handle') return -1;
  const mm = e.handle.domain.mm;
  return mm === undefined || mm.freed ? -1 : mm.pgd.pgd;
}
