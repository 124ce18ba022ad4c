/**
 * I7 on VT-d, read from the step's descriptor log:
 * - a device-TLB invalidation of (sid, PASID) comes after an IOTLB invalidation of the PASID
 *   that covers its range, with no earlier device-TLB invalidation of the same (sid, PASID)
 *   covering that range in between (a narrower one between is another CPU's batch: qi_submit_sync
 *   keeps each batch contiguous, but a teardown's IOTLB and device-TLB flushes are two batches);
 * - teardown (the last unbind of a live mm, or release at exit), per device: the entry is
 *   cleared, then the PASID cache is invalidated and waited for, then P_IOTLB, then the
 *   device TLB (ATS), and any PRQ drain comes after the IOTLB invalidation; the PASID detach
 *   of an iommufd paging domain the same, with the domain-selective IOTLB invalidation for a
 *   second-level entry (8798d3641119, B06);
 * - a bind returns with nothing left queued;
 * - no present PASID entry is rewritten in place beyond its P bit (VT-d spec 6.5.3.3: software
 *   clears P, completes the invalidations, and only then changes the other fields; the 512-bit
 *   entry is several stores the hardware may fetch between).
 */
import type { Device } from '../../src/impl/index.js';
import type { CheckContext } from '../invariant.js';
import type { UnitLog } from '../probe.js';
import { dev_iommu_priv_get, to_dmar_domain } from '../../src/impl/vtd/dmar.js';
import { completionAfter, findEvent } from './events.js';
import { lastUnbind } from './lastUnbind.js';
import type { Sink } from './platform.js';
import { vtdUnits } from './vtdRead.js';
import { IDA_START_DID } from '../../src/impl/vtd/did.js';
import { MAX_AGAW_PFN_WIDTH } from '../../src/hw/vtd/descriptor.js';

/** Does [a, a + 2^ao) contain [b, b + 2^bo) (page numbers; an order of the full width is everything)? */
const contains = (a: number, ao: number, b: number, bo: number): boolean =>
  ao >= MAX_AGAW_PFN_WIDTH || (bo <= ao && b >= a && b + 2 ** bo <= a + 2 ** ao);

/**
 * A device-TLB invalidation sent while the device's PASID entry was not present (aux 0: its
 * teardown cleared P, then flushed the whole PASID from the IOTLB, so nothing can refill it)
 * needs no IOTLB flush of its own after an earlier device-TLB flush: in a teardown the IOTLB
 * and device-TLB flushes are two batches, and another CPU's flush of the same PASID may run
 * between them (a munmap in cache_tag_unassign_domain's window, where the IOTLB tag is gone and
 * the DEVTLB tag not yet; a fork's whole-range flush between the unbind's two batches). Read at
 * the submission, not at the end of the step: a concurrent attach may make the PASID present
 * again by then.
 */
function iotlbBeforeDevtlb(log: UnitLog, unit: number, out: Sink): void {
  const ev = log.events;
  for (let k = 0; k < log.n; k++) {
    const e = ev[k]!;
    // A non-PASID (RID) invalidation flushes no PASID's translations: not a PASID flush's step.
    if (e.kind !== 'devtlb' || e.global || e.pasid === 0) continue;
    const present = log.aux[k] === 1;
    let ok = false;
    for (let j = k - 1; j >= 0; j--) {
      const f = ev[j]!;
      // A second-stage paging domain's PASID is covered by the IOTLB invalidation of its DID
      // (always one of domain_attach_iommu's, never SVA's FLPT_DEFAULT_DID).
      if ((f.kind === 'piotlb' && f.pasid === e.pasid && (f.granularity === 'pasid' || contains(f.addr, f.am, e.addr, e.sizeOrder))) ||
        ((f.kind === 'iotlb_dsi' || f.kind === 'iotlb_psi') && f.did >= IDA_START_DID)) {
        ok = true;
        break;
      }
      if (f.kind === 'devtlb' && f.sid === e.sid && f.pasid === e.pasid && (f.global || contains(f.addr, f.sizeOrder, e.addr, e.sizeOrder)) && present) break;
    }
    if (!ok) out.add({ iommu: unit, sid: e.sid, pasid: e.pasid, at: k }, `${log.name}: device-TLB invalidation of sid ${e.sid} PASID ${e.pasid} (descriptor ${k}) without an IOTLB invalidation of the PASID before it`);
  }
}

/**
 * The teardown sequence of (dev, pasid) on its unit; `release` = intel_mm_release (entry keeps
 * FPD); `secondStage`: the entry was second-level, whose IOTLB flush is domain-selective.
 */
function teardown(ctx: CheckContext, dev: Device, pasid: number, release: boolean, out: Sink, secondStage = false): void {
  const info = dev_iommu_priv_get(dev);
  const unit = dev.iommu.index;
  const log = ctx.probe.units[unit]!;
  const bit = 1 << dev.id;
  const objects = { dev: dev.id, pasid, iommu: unit };
  const entry = info.pasid_table?.fetch(pasid);
  if (entry !== undefined && (entry.present || (!release && entry.fpd))) {
    out.add(objects, `${dev.hw.name} PASID ${pasid}: entry still ${entry.present ? 'present' : 'FPD'} after ${release ? 'release' : 'the last unbind'}`);
  }
  const pc = findEvent(log, 0, log.n, (e, k) => e.kind === 'pc' && e.granularity === 'pasid' && e.pasid === pasid && (log.aux[k]! & bit) === 0);
  if (pc < 0) {
    const early = findEvent(log, 0, log.n, (e) => e.kind === 'pc' && e.granularity === 'pasid' && e.pasid === pasid);
    out.add(objects, early >= 0
      ? `${dev.hw.name} PASID ${pasid}: PASID cache invalidated (descriptor ${early}) while the entry was still present: clear the entry first`
      : `${dev.hw.name} PASID ${pasid}: teardown without a PASID-cache invalidation`);
    return;
  }
  const waited = completionAfter(log, pc, log.n);
  const iotlb = waited < 0 ? -1 : findEvent(log, waited + 1, log.n, (e) => (secondStage ? e.kind === 'iotlb_dsi' : e.kind === 'piotlb' && e.pasid === pasid));
  if (iotlb < 0) {
    out.add(objects, `${dev.hw.name} PASID ${pasid}: no ${secondStage ? 'domain-selective IOTLB' : 'P_IOTLB'} invalidation after the PASID-cache invalidation and its wait`);
    return;
  }
  if (info.ats_enabled && !dev.hw.disconnected) {
    const devtlb = findEvent(log, iotlb + 1, log.n, (e) => e.kind === 'devtlb' && e.sid === info.sid && (e.global || e.pasid === pasid));
    if (devtlb < 0) out.add(objects, `${dev.hw.name} PASID ${pasid}: no device-TLB invalidation after the P_IOTLB invalidation`);
  }
  // This device's drain (prq.c: its wait-with-drain follows the devTLB invalidation of its sid);
  // in a group, another device's drain may come earlier in the same step.
  const drain = findEvent(log, 0, log.n, (e, k) => {
    const prev = log.events[k - 1];
    return e.kind === 'wait' && e.drain && prev !== undefined && prev.kind === 'devtlb' && prev.sid === info.sid;
  });
  if (drain >= 0 && drain < iotlb) out.add(objects, `${dev.hw.name} PASID ${pasid}: PRQ drained (descriptor ${drain}) before the IOTLB invalidation`);
}

/** Entries software rewrote while present during the step (the table logs them). */
function liveRewrites(ctx: CheckContext, out: Sink): void {
  for (const dev of ctx.world.devices) {
    const table = dev_iommu_priv_get(dev).pasid_table;
    if (table === undefined || table.liveRewrites.length === 0) continue;
    for (const pasid of table.liveRewrites) {
      out.add({ dev: dev.id, pasid, iommu: dev.iommu.index }, `${dev.hw.name} PASID ${pasid}: present entry rewritten in place (clear P and invalidate before changing the other fields)`);
    }
  }
}

export function checkVtdOrdering(ctx: CheckContext, out: Sink): void {
  const { probe, world, cmd } = ctx;
  for (let u = 0; u < probe.units.length; u++) iotlbBeforeDevtlb(probe.units[u]!, u, out);
  liveRewrites(ctx, out);
  if (cmd.kind === 'unbind') {
    const gone = lastUnbind(ctx);
    // After release the entry is already blocked and flushed: unbind only clears it (and drains).
    if (gone === undefined || gone.mm.exited) return;
    for (const d of gone.devs) teardown(ctx, d, gone.pasid, false, out);
  } else if (cmd.kind === 'exit') {
    const mm = world.mms[cmd.mm];
    for (const domain of mm?.iommu_mm?.sva_domains ?? []) {
      for (const dp of to_dmar_domain(domain).dev_pasids) teardown(ctx, dp.dev, dp.pasid, true, out);
    }
  } else if (cmd.kind === 'detachPasid') {
    const domain = world.hwpts[cmd.hwpt]?.domain;
    if (domain === undefined) return;
    // intel_pasid_tear_down_entry: DSI for a second-level or nested entry (PGTT 010b, 011b).
    const secondStage = domain.type === 'NESTED' || to_dmar_domain(domain).pgtable?.first_stage === false;
    for (const d of world.devices[cmd.dev]!.group.devices) {
      if (d.max_pasids === 0) continue;
      // The PASID is gone from the HWPT after the step: its PASID-cache invalidation names it.
      const log = probe.units[d.iommu.index]!;
      const pc = findEvent(log, 0, log.n, (e) => e.kind === 'pc' && e.granularity === 'pasid');
      if (pc < 0) {
        out.add({ dev: d.id, hwpt: cmd.hwpt }, `${d.hw.name}: PASID detach of HWPT ${cmd.hwpt} without a PASID-cache invalidation`);
        continue;
      }
      const e = log.events[pc]!;
      if (e.kind === 'pc' && e.granularity === 'pasid') teardown(ctx, d, e.pasid, false, out, secondStage);
    }
  } else if (cmd.kind === 'bind') {
    const units = vtdUnits(world);
    for (let u = 0; u < units.length; u++) {
      const q = units[u]!.unit.queue;
      if (q.pendingCount > 0) out.add({ iommu: u }, `${units[u]!.name}: bind returned with ${q.pendingCount} descriptors queued without a completed wait`);
    }
  }
}
