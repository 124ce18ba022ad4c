/**
 * The two flushes that reach nested (combined) translations on VT-d, read from the step's
 * descriptor log, for I7, I12 and I14:
 * - the guest's unmap (guestUnmap: IOMMU_HWPT_INVALIDATE → intel_nested_cache_invalidate_user →
 *   cache_tag_flush_range on the nested domain): per unit, one P_IOTLB per IOTLB tag with the
 *   nested DID and the PASID, page-selective over the one IOVA page (never PASID-wide), then one
 *   devTLB of (sid, PASID) over that page per DEVTLB tag, one wait per batch, nothing else;
 * - the host's unmap from the parent (iommuUnmap of HWPT 0 → intel_iommu_tlb_sync →
 *   cache_tag_flush_range on the parent): per nested user (device, PASID, nested DID), an IOTLB
 *   DSI or PSI of the nested DID whose range holds the GPA page (VT-d spec 6.5.2.3: it drops the
 *   DID's nested entries), and, with ATS, a devTLB of (sid, PASID) over the whole address space,
 *   after it: the ATC holds IOVA → host-frame results, and no IOVA range can be derived from a
 *   GPA ("no easy way to identify the exact set of nested translations affected by a change in
 *   S2", cache.c).
 * Whole flushes of the parent's own tags that follow a NESTING_DEVTLB tag in the same walk
 * (cache.c widens addr/mask for the rest of the loop) are not judged here.
 */
import { MAX_AGAW_PFN_WIDTH } from '../../src/hw/vtd/descriptor.js';
import type { QiDesc } from '../../src/hw/vtd/descriptor.js';
import { NESTED_HWPT, NEST_PARENT_HWPT, iovaVpn } from '../../src/shared/index.js';
import { dev_iommu_priv_get, to_dmar_domain, type DmarDomain, type IntelIommu } from '../../src/impl/vtd/dmar.js';
import type { CheckContext } from '../invariant.js';
import type { UnitLog } from '../probe.js';
import type { Sink } from './platform.js';

/** Does the aligned block [addr, addr + 2^order) hold vpn (an order of the full width holds all)? */
const holds = (addr: number, order: number, vpn: number): boolean => order >= MAX_AGAW_PFN_WIDTH || (vpn >= addr && vpn - addr < 2 ** order);

const nestedDomain = (ctx: CheckContext): DmarDomain | undefined => {
  const d = ctx.world.hwpts[NESTED_HWPT]?.domain;
  return d === undefined ? undefined : to_dmar_domain(d);
};

const descs = (log: UnitLog): QiDesc[] => {
  const out: QiDesc[] = [];
  for (let k = 0; k < log.n; k++) {
    const e = log.events[k]!;
    if (e.kind !== 'completion') out.push(e as QiDesc);
  }
  return out;
};

/** The step is the guest's unmap of IOVA page `page` through an attached nested domain. */
const guestUnmapOf = (ctx: CheckContext): { dmar: DmarDomain; vpn: number } | undefined => {
  const dmar = nestedDomain(ctx);
  return ctx.cmd.kind === 'guestUnmap' && dmar !== undefined ? { dmar, vpn: iovaVpn(ctx.cmd.page) } : undefined;
};

/** The step is the host's unmap of GPA page `page` from the nest parent, with nested users. */
const parentUnmapOf = (ctx: CheckContext): { dmar: DmarDomain; vpn: number } | undefined => {
  const dmar = nestedDomain(ctx);
  const { cmd } = ctx;
  if (cmd.kind !== 'iommuUnmap' || cmd.hwpt !== NEST_PARENT_HWPT || dmar === undefined || dmar.dev_pasids.length === 0) return undefined;
  return { dmar, vpn: iovaVpn(cmd.page) };
};

const didOn = (dmar: DmarDomain, iommu: IntelIommu): number => dmar.iommu_array?.get(iommu)?.did ?? -1;

/** I14: both flushes cover what changed, as described above. */
export function checkNestedRanges(ctx: CheckContext, out: Sink): void {
  const g = guestUnmapOf(ctx);
  const p = g === undefined ? parentUnmapOf(ctx) : undefined;
  const change = g ?? p;
  if (change === undefined) return;
  for (const { dev, pasid } of change.dmar.dev_pasids) {
    const info = dev_iommu_priv_get(dev);
    const did = didOn(change.dmar, info.iommu);
    const log = ctx.probe.units[info.iommu.index]!;
    const ds = descs(log);
    const objects = { dev: dev.id, pasid, did, iommu: info.iommu.index };
    const iotlb = ds.findIndex((d) => g !== undefined
      ? d.kind === 'piotlb' && d.did === did && d.pasid === pasid && (d.granularity === 'pasid' || holds(d.addr, d.am, change.vpn))
      : (d.kind === 'iotlb_dsi' && d.did === did) || (d.kind === 'iotlb_psi' && d.did === did && holds(d.addr, d.am, change.vpn)));
    if (iotlb < 0) {
      out.add(objects, g !== undefined
        ? `${log.name}: the guest's unmap of IOVA 0x${change.vpn.toString(16)} sent no P_IOTLB of nested DID ${did} PASID ${pasid} covering it`
        : `${log.name}: the parent's unmap of GPA 0x${change.vpn.toString(16)} sent no IOTLB DSI/PSI of nested DID ${did} covering it (PASID ${pasid}'s combined entries stay)`);
      continue;
    }
    if (!info.ats_enabled || dev.hw.disconnected) continue;
    const devtlb = ds.findIndex((d, k) => k > iotlb && d.kind === 'devtlb' && d.sid === info.sid && !d.global && d.pasid === pasid &&
      (g !== undefined ? holds(d.addr, d.sizeOrder, change.vpn) : d.sizeOrder >= MAX_AGAW_PFN_WIDTH));
    if (devtlb < 0) {
      out.add(objects, g !== undefined
        ? `${log.name}: the guest's unmap of IOVA 0x${change.vpn.toString(16)} sent no device-TLB invalidation of ${dev.hw.name} PASID ${pasid} covering it after the P_IOTLB`
        : `${log.name}: the parent's unmap sent no whole device-TLB invalidation of ${dev.hw.name} PASID ${pasid} after the IOTLB one (its ATC caches IOVA results a GPA range cannot name)`);
    }
  }
}

/** I12: the guest's one-page invalidation costs what the nested domain's tags ask, page-selectively. */
export function checkNestedCost(ctx: CheckContext, out: Sink): void {
  const g = guestUnmapOf(ctx);
  if (g === undefined) return;
  const units = ctx.world.iommus as readonly IntelIommu[];
  for (const iommu of units) {
    const did = didOn(g.dmar, iommu);
    let iotlbTags = 0;
    let devtlbTags = 0;
    for (const t of g.dmar.cache_tags) {
      if (t.iommu !== iommu) continue;
      if (t.type === 'IOTLB') iotlbTags++;
      else if (t.type === 'DEVTLB') devtlbTags += dev_iommu_priv_get(t.dev!).dtlb_extra_inval ? 2 : 1;
    }
    const log = ctx.probe.units[iommu.index]!;
    let piotlb = 0, devtlb = 0, waits = 0, other = 0;
    for (const d of descs(log)) {
      if (d.kind === 'piotlb') {
        piotlb++;
        if (d.did !== did || d.granularity === 'pasid' || d.am > 0) {
          out.add({ iommu: iommu.index, did: d.did }, `${log.name}: the guest's one-page invalidation became ${d.granularity === 'pasid' ? 'a PASID-selective' : `a 2^${d.am}-page`} P_IOTLB of DID ${d.did} (nested DID ${did})`);
        }
      } else if (d.kind === 'devtlb') devtlb++;
      else if (d.kind === 'wait') waits++;
      else other++;
    }
    const batches = iotlbTags + devtlbTags === 0 ? 0 : 1;
    if (piotlb === iotlbTags && devtlb === devtlbTags && waits === batches && other === 0) continue;
    out.add({ iommu: iommu.index, did },
      `${log.name}: the guest's invalidation cost ${piotlb} P_IOTLB, ${devtlb} devTLB, ${waits} waits, ${other} other descriptors; the nested domain's tags ask for ${iotlbTags}, ${devtlbTags}, ${batches}, 0`);
  }
}

/**
 * I7: on a parent's unmap, each nested user's device-TLB invalidation follows an IOTLB
 * invalidation of its own nested DID (not merely of some DID): the ATC refills from the IOTLB.
 */
export function checkNestedOrdering(ctx: CheckContext, out: Sink): void {
  const p = parentUnmapOf(ctx);
  if (p === undefined) return;
  for (const { dev, pasid } of p.dmar.dev_pasids) {
    const info = dev_iommu_priv_get(dev);
    const did = didOn(p.dmar, info.iommu);
    const log = ctx.probe.units[info.iommu.index]!;
    const ds = descs(log);
    for (let k = 0; k < ds.length; k++) {
      const d = ds[k]!;
      if (d.kind !== 'devtlb' || d.sid !== info.sid || d.global || d.pasid !== pasid) continue;
      const before = ds.slice(0, k).some((e) => (e.kind === 'iotlb_dsi' || e.kind === 'iotlb_psi') && e.did === did);
      if (!before) out.add({ dev: dev.id, pasid, did, iommu: info.iommu.index }, `${log.name}: device-TLB invalidation of ${dev.hw.name} PASID ${pasid} before any IOTLB invalidation of its nested DID ${did}`);
    }
  }
}
