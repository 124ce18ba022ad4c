/**
 * An iommufd unmap on SMMUv3 (iommuUnmap), read from the step's command log, as
 * arm_smmu_iotlb_sync → arm_smmu_tlb_inv_range_domain (arm-smmu-v3.c, v7.0-rc5) orders and
 * prices it:
 * - I7 (order): a TLBI of the domain's ASID (stage 1) or TLBI_S2_IPA of its VMID (stage 2, then
 *   TLBI_NH_ALL of the VMID for a nest parent) covering the page, completed by a CMD_SYNC, then for
 *   every master_domain whose master has ATS enabled an ATC_INV of its (SID, SSID) covering the
 *   page, after that sync (arm_smmu_atc_inv_domain runs after the TLB invalidation);
 * - I12 (cost): one leaf range TLBI (a one-page range is one command with or without RANGE_INV,
 *   and arm_smmu_iotlb_sync never flushes the whole ASID), one TLBI_NH_ALL for a nest parent,
 *   exactly one ATC_INV per stream of each ATS-enabled master_domain and none for a
 *   master whose ATS is off (arm_smmu_atc_inv_domain skips !master->ats_enabled, and skips the
 *   batch altogether when nr_ats_masters is 0), no TLBI of another ASID, and one CMD_SYNC for
 *   the TLBI plus one for the ATC batch when it is not empty.
 */
import { ATC_INV_SIZE_ALL, tlbiPages, type SmmuCmd } from '../../src/hw/smmuv3/index.js';
import { iovaVpn } from '../../src/shared/index.js';
import { to_smmu_domain, type ArmSmmuDomain } from '../../src/impl/smmuv3/structs.js';
import type { CheckContext } from '../invariant.js';
import type { ProbeEvent, UnitLog } from '../probe.js';
import { completionAfter, findEvent } from './events.js';
import type { Sink } from './platform.js';

type AtcInv = Extract<SmmuCmd, { kind: 'ATC_INV' }>;

/** A TLBI of the domain's tag covering vpn: its ASID (stage 1) or its VMID (stage 2). */
const tlbiCovers = (e: ProbeEvent, d: ArmSmmuDomain, vpn: number): boolean =>
  d.stage === 'S2'
    ? e.kind === 'TLBI_S2_IPA' && e.vmid === d.s2_cfg.vmid && e.addr <= vpn && vpn < e.addr + tlbiPages(e)
    : (e.kind === 'TLBI_NH_ASID' && e.asid === d.cd.asid) ||
      (e.kind === 'TLBI_NH_VA' && e.asid === d.cd.asid && e.addr <= vpn && vpn < e.addr + tlbiPages(e));

const tagOf = (d: ArmSmmuDomain): string => (d.stage === 'S2' ? `VMID ${d.s2_cfg.vmid}` : `ASID ${d.cd.asid}`);

/** ATC_INV of (sid, ssid) or of the whole ATC of sid (no PASID prefix), spanning vpn. */
const atcCovers = (e: ProbeEvent, sid: number, ssid: number, vpn: number): e is AtcInv =>
  e.kind === 'ATC_INV' && e.sid === sid && (!e.ssv || e.ssid === ssid) &&
  (e.size === ATC_INV_SIZE_ALL || (e.addr <= vpn && vpn < e.addr + 2 ** e.size));

/** The HWPT's SMMUv3 paging domain, if the command is an iommuUnmap of one on this platform. */
export const smmuUnmapDomain = (ctx: CheckContext): ArmSmmuDomain | undefined => {
  if (ctx.cmd.kind !== 'iommuUnmap' || !ctx.actual.ok) return undefined;
  const domain = ctx.world.hwpts[ctx.cmd.hwpt]?.domain;
  return domain === undefined ? undefined : to_smmu_domain(domain);
};

export function checkSmmuUnmapOrder(ctx: CheckContext, out: Sink): void {
  const d = smmuUnmapDomain(ctx);
  if (d === undefined || ctx.cmd.kind !== 'iommuUnmap') return;
  const vpn = iovaVpn(ctx.cmd.page);
  const u = d.smmu.index;
  const log = ctx.probe.units[u]!;
  const objects = { iommu: u, hwpt: ctx.cmd.hwpt, asid: d.cd.asid, vpn };
  const tlbi = findEvent(log, 0, log.n, (e) => tlbiCovers(e, d, vpn));
  let synced = tlbi < 0 ? -1 : completionAfter(log, tlbi, log.n);
  if (synced < 0) {
    out.add(objects, `${log.name}: unmap of IOVA 0x${vpn.toString(16)} (HWPT ${ctx.cmd.hwpt}) without a completed TLBI of ${tagOf(d)} covering it`);
    return;
  }
  if (d.nest_parent) {
    // The S1 entries nested on this S2 go too, after the stage-2 invalidation.
    const all = findEvent(log, tlbi + 1, log.n, (e) => e.kind === 'TLBI_NH_ALL' && e.vmid === d.s2_cfg.vmid);
    synced = all < 0 ? -1 : completionAfter(log, all, log.n);
    if (synced < 0) {
      out.add(objects, `${log.name}: unmap of the nest parent HWPT ${ctx.cmd.hwpt} without a completed TLBI_NH_ALL of VMID ${d.s2_cfg.vmid} after its TLBI_S2_IPA`);
      return;
    }
  }
  for (const md of d.devices) {
    if (!md.master.ats_enabled) continue;
    for (const sid of md.master.streams) {
      const atc = findEvent(log, 0, log.n, (e) => atcCovers(e, sid, md.ssid, vpn));
      if (atc < 0) out.add({ ...objects, sid, ssid: md.ssid }, `${log.name}: unmap left the ATC of sid ${sid} SSID ${md.ssid} (ATS enabled) uninvalidated`);
      else if (atc < synced) out.add({ ...objects, sid, ssid: md.ssid }, `${log.name}: ATC_INV sid ${sid} SSID ${md.ssid} (command ${atc}) before the TLBI of ${tagOf(d)} had completed (command ${synced})`);
    }
  }
}

type RangeTlbi = Extract<SmmuCmd, { kind: 'TLBI_NH_VA' | 'TLBI_S2_IPA' }>;

function countKinds(log: UnitLog, d: ArmSmmuDomain): { tlbi: number; ranges: RangeTlbi[]; wide: number; foreign: number; nhAll: number; atc: AtcInv[]; syncs: number; other: number } {
  const r = { tlbi: 0, ranges: [] as RangeTlbi[], wide: 0, foreign: 0, nhAll: 0, atc: [] as AtcInv[], syncs: 0, other: 0 };
  const s2 = d.stage === 'S2';
  for (let k = 0; k < log.n; k++) {
    const e = log.events[k]!;
    if (e.kind === 'TLBI_NH_ASID' || e.kind === 'TLBI_NH_VA') {
      if (s2 || e.asid !== d.cd.asid) r.foreign++;
      else if (e.kind === 'TLBI_NH_ASID') r.wide++;
      else {
        r.tlbi++;
        r.ranges.push(e);
      }
    } else if (e.kind === 'TLBI_S2_IPA') {
      if (s2 && e.vmid === d.s2_cfg.vmid) {
        r.tlbi++;
        r.ranges.push(e);
      } else r.foreign++;
    } else if (e.kind === 'TLBI_NH_ALL') {
      if (d.nest_parent && e.vmid === d.s2_cfg.vmid) r.nhAll++;
      else r.foreign++;
    } else if (e.kind === 'ATC_INV') r.atc.push(e);
    else if (e.kind === 'CMD_SYNC') r.syncs++;
    else if (e.kind !== 'completion') r.other++;
  }
  return r;
}

export function checkSmmuUnmapCost(ctx: CheckContext, out: Sink): void {
  const d = smmuUnmapDomain(ctx);
  if (d === undefined || ctx.cmd.kind !== 'iommuUnmap') return;
  const u = d.smmu.index;
  const log = ctx.probe.units[u]!;
  const c = countKinds(log, d);
  const nest = d.nest_parent ? 1 : 0;
  const wanted = new Set<string>();
  for (const md of d.devices) if (md.master.ats_enabled) for (const sid of md.master.streams) wanted.add(`${sid}:${md.ssid}`);
  const got = new Set(c.atc.map((e) => `${e.sid}:${e.ssid}`));
  const extra = c.atc.filter((e) => !wanted.has(`${e.sid}:${e.ssid}`)).map((e) => `sid ${e.sid} SSID ${e.ssid}`);
  const syncsWanted = 1 + nest + (wanted.size > 0 ? 1 : 0);
  // Breadth: arm_smmu_atc_inv_to_cmd gives a one-page range a span of 2^0 at the page, and a
  // one-page TLBI range is one page (tg 0, or NUM 0 SCALE 0), so anything wider flushes more
  // than the unmap changed.
  const vpn = iovaVpn(ctx.cmd.page);
  const wide = [
    ...c.atc.filter((e) => e.size !== 0 || e.addr !== vpn).map((e) => `ATC_INV sid ${e.sid} of 2^${e.size} pages at 0x${e.addr.toString(16)}`),
    ...c.ranges.filter((e) => e.addr !== vpn || tlbiPages(e) !== 1).map((e) => `${e.kind} of ${tlbiPages(e)} pages at 0x${e.addr.toString(16)}`),
  ];
  if (wide.length > 0) {
    out.add({ iommu: u, hwpt: ctx.cmd.hwpt, vpn }, `${log.name}: a one-page unmap of IOVA 0x${vpn.toString(16)} sent invalidations broader than the page: ${wide.join(', ')}`);
  }
  if (c.tlbi === 1 && c.wide === 0 && c.nhAll === nest && c.foreign === 0 && c.atc.length === wanted.size && got.size === wanted.size && extra.length === 0 && c.syncs === syncsWanted && c.other === 0) return;
  out.add({ iommu: u, hwpt: ctx.cmd.hwpt, tlbi: c.tlbi, atc: c.atc.length, syncs: c.syncs },
    `${log.name}: unmap of HWPT ${ctx.cmd.hwpt} cost ${c.tlbi} range TLBI, ${c.wide} TLBI_NH_ASID, ${c.nhAll} TLBI_NH_ALL (${c.foreign} TLBI of other tags), ${c.atc.length} ATC_INV, ${c.syncs} CMD_SYNC, ${c.other} other` +
    `${extra.length > 0 ? `; ATC_INV to masters with ATS off or not attached: ${extra.join(', ')}` : ''}` +
    `; a one-page unmap asks for one range TLBI of ${tagOf(d)} (no ASID-wide flush)${nest ? ', one TLBI_NH_ALL' : ''}, ${wanted.size} ATC_INV (one per stream of each ATS-enabled master_domain), ${syncsWanted} CMD_SYNC`);
}
