/**
 * I7 on AMD, read from the step's command log:
 * - an INVALIDATE_IOTLB_PAGES of (DevID, PASID) comes after an INVALIDATE_IOMMU_PAGES of the
 *   PASID with no earlier IOTLB invalidation of the same (DevID, PASID) in between (the IOMMU's
 *   TLB first, then the ATC that may refill from it);
 * - teardown (the last unbind of a live mm, or release at exit), per device: the GCR3 entry is
 *   cleared, then an all-pages INVALIDATE_IOMMU_PAGES of (domain ID, PASID) is sent (never
 *   before the clear), then the ATC's (ATS), then a COMPLETION_WAIT;
 * - a bind returns with nothing left in the command buffer.
 */
import { invRange } from '../../src/hw/amd/index.js';
import type { Device } from '../../src/impl/index.js';
import { to_pdomain } from '../../src/impl/amd/structs.js';
import type { CheckContext } from '../invariant.js';
import type { UnitLog } from '../probe.js';
import { amdUnits, devDataOf, gcr3Domid, memoryGcr3 } from './amdRead.js';
import { completionAfter, findEvent } from './events.js';
import { lastUnbind } from './lastUnbind.js';
import type { Sink } from './platform.js';

function iommuBeforeIotlb(log: UnitLog, unit: number, out: Sink): void {
  const ev = log.events;
  for (let k = 0; k < log.n; k++) {
    const e = ev[k]!;
    if (e.kind !== 'INVALIDATE_IOTLB_PAGES' || !e.gn) continue;
    let ok = false;
    for (let j = k - 1; j >= 0; j--) {
      const f = ev[j]!;
      if (f.kind === 'INVALIDATE_IOMMU_PAGES' && f.gn && f.pasid === e.pasid) {
        ok = true;
        break;
      }
      if (f.kind === 'INVALIDATE_IOTLB_PAGES' && f.devid === e.devid && f.pasid === e.pasid) break;
    }
    if (!ok) out.add({ iommu: unit, devid: e.devid, pasid: e.pasid, at: k }, `${log.name}: INVALIDATE_IOTLB_PAGES of DevID ${e.devid} PASID ${e.pasid} (command ${k}) without an INVALIDATE_IOMMU_PAGES of the PASID before it`);
  }
}

function teardown(ctx: CheckContext, dev: Device, pasid: number, out: Sink): void {
  const dev_data = devDataOf(dev);
  const unit = dev.iommu.index;
  const log = ctx.probe.units[unit]!;
  const domid = gcr3Domid(dev);
  const objects = { dev: dev.id, pasid, iommu: unit };
  if (memoryGcr3(dev, pasid)?.valid === true) out.add(objects, `${dev.hw.name} PASID ${pasid}: GCR3 entry still valid after teardown`);
  const isFlush = (k: number): boolean => {
    const e = log.events[k]!;
    return e.kind === 'INVALIDATE_IOMMU_PAGES' && e.gn && e.domid === domid && e.pasid === pasid && invRange(e.address, e.s).pages === Infinity;
  };
  const flush = findEvent(log, 0, log.n, (_e, k) => isFlush(k) && log.aux[k] === 0);
  if (flush < 0) {
    const early = findEvent(log, 0, log.n, (_e, k) => isFlush(k));
    out.add(objects, early >= 0
      ? `${dev.hw.name} PASID ${pasid}: PASID flushed (command ${early}) while its GCR3 entry was still valid: clear the entry first`
      : `${dev.hw.name} PASID ${pasid}: teardown without an all-pages INVALIDATE_IOMMU_PAGES of DomainID ${domid}`);
    return;
  }
  let last = flush;
  if (dev_data.ats_enabled && !dev.hw.disconnected) {
    last = findEvent(log, flush + 1, log.n, (e) => e.kind === 'INVALIDATE_IOTLB_PAGES' && e.devid === dev_data.devid && (!e.gn || e.pasid === pasid));
    if (last < 0) {
      out.add(objects, `${dev.hw.name} PASID ${pasid}: no INVALIDATE_IOTLB_PAGES after the IOMMU flush`);
      return;
    }
  }
  if (completionAfter(log, last, log.n) < 0) out.add(objects, `${dev.hw.name} PASID ${pasid}: no COMPLETION_WAIT after the teardown flushes`);
}

export function checkAmdOrdering(ctx: CheckContext, out: Sink): void {
  const { probe, world, cmd } = ctx;
  for (let u = 0; u < probe.units.length; u++) iommuBeforeIotlb(probe.units[u]!, u, out);
  if (cmd.kind === 'unbind') {
    const gone = lastUnbind(ctx);
    // After release the GCR3 entries are already cleared and flushed: unbind finds nothing.
    if (gone === undefined || gone.mm.exited) return;
    for (const d of gone.devs) teardown(ctx, d, gone.pasid, out);
  } else if (cmd.kind === 'exit') {
    const mm = world.mms[cmd.mm];
    const pasid = mm?.iommu_mm?.pasid;
    if (pasid === undefined) return;
    // sva_mn_release emptied the list: the devices are those the group attaches the mm to.
    for (const domain of mm!.iommu_mm!.sva_domains) {
      if (to_pdomain(domain).dev_data_list.length > 0) out.add({ domain: domain.id }, `domain ${domain.id}: release left ${to_pdomain(domain).dev_data_list.length} attachments`);
    }
    for (let dev = 0; dev < world.devices.length; dev++) {
      if (world.fds[cmd.mm]![dev] === undefined) continue;
      for (const d of world.devices[dev]!.group.devices) if (d.max_pasids > 0) teardown(ctx, d, pasid, out);
    }
  } else if (cmd.kind === 'bind') {
    const units = amdUnits(world);
    for (let u = 0; u < units.length; u++) {
      const n = units[u]!.unit.cmdBuf.pendingCount;
      if (n > 0) out.add({ iommu: u }, `${units[u]!.unit.name}: bind returned with ${n} commands without a completed COMPLETION_WAIT`);
    }
  }
}
