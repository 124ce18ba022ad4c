/**
 * I7 on SMMUv3, read from the step's command log:
 * - within a notifier invalidation, every ATC_INV comes after a TLBI of the domain's ASID whose
 *   CMD_SYNC has completed (arm_smmu_atc_inv_domain runs after the TLB invalidation);
 * - any other ATC_INV comes after a completed CFGI_CD/CFGI_STE of its stream or a TLBI;
 * - detach (last unbind, or an iommufd PASID detach): the CD is cleared with CFGI_CD + sync,
 *   then the ATC of the SSID is invalidated, by then with the CD no longer translating;
 * - release (exit): each CD is made quiet (CFGI_CD) before TLBI_NH_ASID + sync, and the ATC of
 *   each ATS master is invalidated after that sync;
 * - an iommufd unmap: TLBI + sync, then the ATC of each ATS master_domain (pagingSmmu.ts);
 * - a bind returns with nothing left queued.
 */
import type { SmmuCmd } from '../../src/hw/smmuv3/index.js';
import type { Device } from '../../src/impl/index.js';
import { dev_iommu_priv_get, to_smmu_domain, type ArmSmmuDomain } from '../../src/impl/smmuv3/structs.js';
import type { CheckContext } from '../invariant.js';
import type { StepProbe, UnitLog } from '../probe.js';
import { completionAfter, eachInvalidationSlice, findEvent, insideInvalidation, type InvalidationSlice } from './events.js';
import { lastUnbind } from './lastUnbind.js';
import type { Sink } from './platform.js';
import { memoryCd, smmuUnits } from './smmuRead.js';
import { checkSmmuUnmapOrder } from './pagingSmmu.js';

const isTlbi = (e: { kind: string }): e is Extract<SmmuCmd, { kind: 'TLBI_NH_ASID' | 'TLBI_NH_VA' }> =>
  e.kind === 'TLBI_NH_ASID' || e.kind === 'TLBI_NH_VA';

function atcAfterTlbiInInvalidation(ctx: CheckContext, { i, u, mm, log, from, to }: InvalidationSlice, out: Sink): void {
  let tlbi = -1;
  let synced = false;
  for (let k = from; k < to; k++) {
    const e = log.events[k]!;
    if (isTlbi(e)) {
      // The mm's ASIDs as the probe read them at the notifier call: a domain freed later in
      // the same step (an unbind whose fault drain invalidated first) still counts.
      if (ctx.probe.invalidations.inputs.ownsAsid(i, e.asid)) {
        tlbi = k;
        synced = false;
      }
    } else if (e.kind === 'completion') {
      if (e.ok && tlbi >= 0) synced = true;
    } else if (e.kind === 'ATC_INV' && !synced) {
      out.add({ iommu: u, mm: mm.slot, sid: e.sid, ssid: e.ssid, at: k },
        `${log.name}: ATC_INV sid ${e.sid} (command ${k}) in mm${mm.slot}'s invalidation before a TLBI of its ASID had completed`);
    }
  }
}

function atcAfterConfigElsewhere(probe: StepProbe, out: Sink): void {
  for (let u = 0; u < probe.units.length; u++) {
    const log = probe.units[u]!;
    for (let k = 0; k < log.n; k++) {
      const e = log.events[k]!;
      if (e.kind !== 'ATC_INV' || insideInvalidation(probe, u, k) >= 0) continue;
      const done = lastCompletionBefore(log, k);
      let ok = false;
      for (let j = done - 1; j >= 0 && !ok; j--) {
        const f = log.events[j]!;
        ok = isTlbi(f) || (f.kind === 'CFGI_STE' && f.sid === e.sid) || (f.kind === 'CFGI_CD' && f.sid === e.sid && (!e.ssv || f.ssid === e.ssid));
      }
      if (!ok) out.add({ iommu: u, sid: e.sid, ssid: e.ssid, at: k }, `${log.name}: ATC_INV sid ${e.sid} ssid ${e.ssid} (command ${k}) with no completed CFGI or TLBI before it`);
    }
  }
}

function lastCompletionBefore(log: UnitLog, k: number): number {
  for (let j = k - 1; j >= 0; j--) {
    const e = log.events[j]!;
    if (e.kind === 'completion' && e.ok) return j;
  }
  return -1;
}

function detach(ctx: CheckContext, dev: Device, pasid: number, out: Sink): void {
  const master = dev_iommu_priv_get(dev);
  const u = dev.iommu.index;
  const log = ctx.probe.units[u]!;
  const sid = dev.hw.sid;
  const objects = { dev: dev.id, pasid, iommu: u };
  if (memoryCd(master.smmu.unit, sid, pasid)?.v === true) out.add(objects, `${dev.hw.name} SSID ${pasid}: CD still valid after the last unbind`);
  let cfgi = -1;
  for (let k = log.n - 1; k >= 0 && cfgi < 0; k--) {
    const e = log.events[k]!;
    if (e.kind === 'CFGI_CD' && e.sid === sid && e.ssid === pasid) cfgi = k;
  }
  const synced = cfgi < 0 ? -1 : completionAfter(log, cfgi, log.n);
  if (synced < 0) {
    out.add(objects, `${dev.hw.name} SSID ${pasid}: CD cleared without CFGI_CD + CMD_SYNC`);
    return;
  }
  // With ATS off at the endpoint when the CD was cleared (arm_smmu_disable_ats invalidated its
  // whole ATC before clearing Enable, and the detach skips the ATC_INV when !master->ats_enabled)
  // an SSID with nothing cached has nothing to go stale, now or after a later enable.
  if (log.aux[cfgi] === 0 && !dev.hw.atcEntries().some((e) => e.pasid === pasid)) return;
  // An ATC_INV inside a notifier invalidation (e.g. a fault drained during the unbind upgraded a
  // PTE) belongs to that invalidation, not to this device's teardown; I7's first rule covers it.
  let atc = -1;
  for (let k = 0; k < log.n && atc < 0; k++) {
    const e = log.events[k]!;
    if (e.kind === 'ATC_INV' && e.sid === sid && (!e.ssv || e.ssid === pasid) && insideInvalidation(ctx.probe, u, k) < 0) atc = k;
  }
  if (atc < 0) out.add(objects, `${dev.hw.name} SSID ${pasid}: no ATC invalidation on detach`);
  else if (atc < synced || log.aux[atc] === 1) out.add(objects, `${dev.hw.name} SSID ${pasid}: ATC invalidated (command ${atc}) before the CD was cleared and synced`);
}

/**
 * A RID detach (arm_smmu_attach_dev_blocked, through arm_smmu_attach_dev_ste): untagged traffic
 * stops at the STE first (abort, or S1DSS terminate while SSIDs are in use: CFGI_STE + CMD_SYNC),
 * then the ATC goes, and only then is CD 0 cleared (after arm_smmu_asid_lock is dropped).
 */
function detachRid(ctx: CheckContext, dev: Device, out: Sink): void {
  const u = dev.iommu.index;
  const log = ctx.probe.units[u]!;
  const sid = dev.hw.sid;
  const objects = { dev: dev.id, pasid: 0, iommu: u };
  if (memoryCd(dev_iommu_priv_get(dev).smmu.unit, sid, 0)?.v === true) out.add(objects, `${dev.hw.name}: CD 0 still valid after the RID detach`);
  const ste = findEvent(log, 0, log.n, (e) => e.kind === 'CFGI_STE' && e.sid === sid);
  const synced = ste < 0 ? -1 : completionAfter(log, ste, log.n);
  if (synced < 0) {
    out.add(objects, `${dev.hw.name}: RID detach without CFGI_STE + CMD_SYNC`);
    return;
  }
  const atc = findEvent(log, 0, log.n, (e, k) => e.kind === 'ATC_INV' && e.sid === sid && !e.ssv && insideInvalidation(ctx.probe, u, k) < 0);
  if (atc >= 0 && atc < synced) out.add(objects, `${dev.hw.name}: RID ATC invalidated (command ${atc}) before the STE stopped using CD 0`);
}

function release(ctx: CheckContext, d: ArmSmmuDomain, out: Sink): void {
  const u = d.smmu.index;
  const log = ctx.probe.units[u]!;
  const asid = d.cd.asid;
  const tlbi = findEvent(log, 0, log.n, (e) => e.kind === 'TLBI_NH_ASID' && e.asid === asid);
  const synced = tlbi < 0 ? -1 : completionAfter(log, tlbi, log.n);
  if (synced < 0) {
    out.add({ iommu: u, asid }, `${log.name}: release without a completed TLBI_NH_ASID of ASID ${asid}`);
    return;
  }
  for (const md of d.devices) {
    const sid = md.master.dev.hw.sid;
    const objects = { iommu: u, asid, dev: md.master.dev.id, ssid: md.ssid };
    const cfgi = findEvent(log, 0, tlbi, (e) => e.kind === 'CFGI_CD' && e.sid === sid && e.ssid === md.ssid);
    if (cfgi < 0) out.add(objects, `${log.name}: release flushed ASID ${asid} before making the CD of sid ${sid} SSID ${md.ssid} quiet`);
    if (!md.master.ats_enabled) continue;
    const atc = findEvent(log, synced + 1, log.n, (e) => e.kind === 'ATC_INV' && e.sid === sid && (!e.ssv || e.ssid === md.ssid));
    if (atc < 0) out.add(objects, `${log.name}: release left the ATC of sid ${sid} SSID ${md.ssid} uninvalidated after the TLBI`);
  }
}

export function checkSmmuOrdering(ctx: CheckContext, out: Sink): void {
  const { probe, world, cmd } = ctx;
  eachInvalidationSlice(ctx, out, atcAfterTlbiInInvalidation);
  atcAfterConfigElsewhere(probe, out);
  checkSmmuUnmapOrder(ctx, out);
  if (cmd.kind === 'unbind') {
    const gone = lastUnbind(ctx);
    for (const d of gone?.devs ?? []) detach(ctx, d, gone!.pasid, out);
  } else if (cmd.kind === 'exit') {
    for (const domain of world.mms[cmd.mm]?.iommu_mm?.sva_domains ?? []) release(ctx, to_smmu_domain(domain), out);
  } else if (cmd.kind === 'detachPasid' && ctx.actual.ok && world.hwpts[cmd.hwpt]?.domain !== undefined) {
    // The PASID is gone from the HWPT after the step: the CFGI_CD of the cleared CD names it.
    for (const d of world.devices[cmd.dev]!.group.devices) {
      if (d.max_pasids === 0) continue;
      const log = probe.units[d.iommu.index]!;
      const k = findEvent(log, 0, log.n, (e) => e.kind === 'CFGI_CD' && e.sid === d.hw.sid && e.leaf);
      const e = k < 0 ? undefined : log.events[k]!;
      if (e === undefined || e.kind !== 'CFGI_CD') out.add({ dev: d.id, hwpt: cmd.hwpt }, `${d.hw.name}: PASID detach of HWPT ${cmd.hwpt} without a CFGI_CD`);
      else if (e.ssid === 0) detachRid(ctx, d, out);
      else detach(ctx, d, e.ssid, out);
    }
  } else if (cmd.kind === 'bind') {
    const units = smmuUnits(world);
    for (let u = 0; u < units.length; u++) {
      const q = units[u]!.unit.pending.length;
      if (q > 0) out.add({ iommu: u }, `${units[u]!.unit.name}: bind returned with ${q} commands queued without a CMD_SYNC`);
    }
  }
}
