/**
 * Read-only views of where a page request can be, for the PRI invariants: in the IOMMU's
 * hardware queue (VT-d PRQ, SMMUv3 event queue), in the kernel (a reported iopf group awaiting
 * its response, or queued work), or at the endpoint (outstanding, holding a credit).
 */
import type { SmmuV3 } from '../../src/hw/smmuv3/index.js';
import type { VtdUnit } from '../../src/hw/vtd/unit.js';
import { isStopMarker } from '../../src/hw/vtd/prq.js';
import type { AmdIommuUnit } from '../../src/hw/amd/index.js';
import { IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, type IopfFault, dev_fault_param } from '../../src/impl/core/iopf.js';
import type { Device, World } from '../../src/impl/index.js';
import type { OutstandingRequest } from '../../src/hw/pri.js';

export interface QueuedRequest {
  /** -1: a request without a PASID (on the RID). */
  readonly pasid: number;
  readonly prgi: number;
  /** The LAST of its group: the one a response answers (a kernel group is always last). */
  readonly last: boolean;
  /** A Stop Marker (VT-d PRQ): LAST set, yet nothing answers it. */
  readonly stop?: true;
}

/** The fault's PASID as the endpoint names it: -1 without PASID_VALID. */
const faultPasid = (f: IopfFault): number => ((f.prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) !== 0 ? f.prm.pasid : -1);

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
    for (const r of (dev.iommu.unit as VtdUnit).prq.pending) {
      if (r.sid !== sid) continue;
      const q: QueuedRequest = { pasid: r.pasidPresent ? r.pasid : -1, prgi: r.prgi, last: r.lpig };
      out.push(isStopMarker(r) ? { ...q, stop: true } : q);
    }
  } else if (world.topology.platform === 'amd') {
    for (const e of (dev.iommu.unit as AmdIommuUnit).pprLog.pending) if (e.devid === sid) out.push({ pasid: e.gn ? e.pasid : -1, prgi: e.tag, last: e.last });
  } else {
    for (const e of (dev.iommu.unit as SmmuV3).evtq) if (e.sid === sid) out.push({ pasid: e.ssv ? e.ssid : -1, prgi: e.stag, last: true });
  }
  return out;
}

/**
 * Whether `r`'s group has a LAST the IOMMU discarded unanswered (AMD PPR log overflow): no
 * response will ever come for it, whatever the kernel does.
 */
export const lostGroup = (outstanding: readonly OutstandingRequest[], r: OutstandingRequest): boolean =>
  outstanding.some((o) => o.pasid === r.pasid && o.prgi === r.prgi && o.last && o.lost === true);

/** Groups of `dev` the kernel has reported and not answered (iommu_fault_param.faults). */
export function kernelPending(dev: Device): QueuedRequest[] {
  const p = dev_fault_param(dev);
  if (p === undefined) return [];
  return p.faults.map((g) => ({ pasid: faultPasid(g.last_fault), prgi: g.last_fault.prm.grpid, last: true }));
}

/** Work items of `dev` queued on its fault queue's workqueue and not run yet. */
export function workQueued(dev: Device): QueuedRequest[] {
  const p = dev_fault_param(dev);
  if (p === undefined) return [];
  return p.queue.wq.filter((g) => g.fault_param.dev === dev).map((g) => ({ pasid: faultPasid(g.last_fault), prgi: g.last_fault.prm.grpid, last: true }));
}

/** The CPU page-table root of the mm attached at (dev's group, pasid) now, or -1. */
export function boundRoot(dev: Device, pasid: number): number {
  const e = dev.group.pasid_array.get(pasid);
  if (e === undefined || e.kind !== 'handle') return -1;
  const mm = e.handle.domain.mm;
  return mm === undefined || mm.freed ? -1 : mm.pgd.pgd;
}
