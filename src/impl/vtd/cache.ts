/**
 * Cache tags and the range/all flushes built on them, after drivers/iommu/intel/cache.c
 * (v6.17, with 04b1b069f151 "Flush piotlb for SVM and Nested domain"; the nested-domain tags
 * read in a v7.0-era cache.c: cache_tag_assign_domain's parent half, the NESTING_* cases of
 * cache_tag_flush_range). The only place that turns a change of a domain's mappings into
 * invalidation descriptors.
 */
import { match } from 'ts-pattern';
import { ULONG_MAX, type Errno } from '../../shared/index.js';
import type { Device } from '../core/types.js';
import type { Co } from '../core/sched.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { noteFinding } from '../core/kernel.js';
import type { QiDesc } from '../../hw/vtd/descriptor.js';
import { type DmarDomain, FLPT_DEFAULT_DID, IOMMU_NO_PASID, type IntelIommu, dev_iommu_priv_get } from './dmar.js';
import {
  NPAGES_ALL, U64, VTD_PAGE_SHIFT, ilog2, qi_desc_dev_iotlb, qi_desc_dev_iotlb_pasid, qi_desc_iotlb, qi_desc_piotlb,
  qi_submit_sync, roundup_pow_of_two,
} from './qi.js';

/**
 * enum cache_tag_type. NESTING_IOTLB and NESTING_DEVTLB sit on a nest parent, one pair per
 * (device, PASID) of each nested domain over it, with the nested domain's DID: where a change
 * of the parent's second stage is cached in nested (combined) form.
 */
export type CacheTagType = 'IOTLB' | 'DEVTLB' | 'NESTING_IOTLB' | 'NESTING_DEVTLB';

/** The tag lives in the IOMMU (matched by unit) rather than in the device (matched by device). */
const inIommu = (type: CacheTagType): boolean => type === 'IOTLB' || type === 'NESTING_IOTLB';

/** struct cache_tag: where a domain's translations may be cached. */
export interface CacheTag {
  readonly type: CacheTagType;
  readonly iommu: IntelIommu;
  readonly domain_id: number;
  readonly pasid: number;
  /** DEVTLB: the endpoint. IOTLB: undefined (the kernel stores the IOMMU's own device). */
  readonly dev: Device | undefined;
  users: number;
}

/** QI_MAX_BATCHED_DESC_COUNT. */
export const QI_MAX_BATCHED_DESC_COUNT = 16;

/** struct qi_batch: descriptors gathered for one IOMMU, submitted with one wait. */
export interface QiBatch {
  descs: QiDesc[];
}

/** MAX_AGAW_PFN_WIDTH. */
const MAX_AGAW_PFN_WIDTH = 52;

/** cache.c: cache_tage_match (sic). */
const cache_tage_match = (tag: CacheTag, did: number, iommu: IntelIommu, dev: Device, pasid: number, type: CacheTagType): boolean =>
  tag.type === type && tag.domain_id === did && tag.pasid === pasid &&
  (inIommu(type) ? tag.iommu === iommu : tag.dev === dev);

/**
 * cache.c: cache_tag_assign (v7.0-rc5). The tag is kzalloc'd first (-ENOMEM); an existing
 * matching tag then gains a user (and the new one is kfree'd); else the new tag goes right
 * after the last tag of the same IOMMU (list_add after `prev`, or at the head when the IOMMU
 * has none yet), so one IOMMU's tags stay together for batching.
 */
export function* cache_tag_assign(domain: DmarDomain, did: number, dev: Device, pasid: number, type: CacheTagType): Co<Errno | 0> {
  const iommu = dev_iommu_priv_get(dev).iommu;
  if (iommu.kernel.shouldFail('kzalloc@cache_tag_assign')) return 'ENOMEM';
  yield* spin_lock(domain.cache_lock);
  let prev = -1;
  for (const [i, tag] of domain.cache_tags.entries()) {
    if (cache_tage_match(tag, did, iommu, dev, pasid, type)) {
      tag.users++;
      yield* spin_unlock(domain.cache_lock);
      return 0;
    }
    if (tag.iommu === iommu) prev = i;
  }
  const tag: CacheTag = { type, iommu, domain_id: did, pasid, dev: inIommu(type) ? undefined : dev, users: 1 };
  domain.cache_tags.splice(prev + 1, 0, tag);
  yield* spin_unlock(domain.cache_lock);
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `cache_tag_assign ${type} did=${did} pasid=${pasid}`);
  return 0;
}

/** cache.c: cache_tag_unassign. The last user frees the tag. */
function* cache_tag_unassign(domain: DmarDomain, did: number, dev: Device, pasid: number, type: CacheTagType): Co {
  const iommu = dev_iommu_priv_get(dev).iommu;
  yield* spin_lock(domain.cache_lock);
  const i = domain.cache_tags.findIndex((tag) => cache_tage_match(tag, did, iommu, dev, pasid, type));
  if (i >= 0 && --domain.cache_tags[i]!.users === 0) domain.cache_tags.splice(i, 1);
  yield* spin_unlock(domain.cache_lock);
}

/**
 * cache.c: domain_get_id_for_dev (v7.0-rc5). SVA domains have no DID of their own: every
 * first-level SVA entry uses FLPT_DEFAULT_DID, on every IOMMU. A paging domain uses the DID
 * domain_attach_iommu gave it on the device's IOMMU.
 */
const domain_get_id_for_dev = (domain: DmarDomain, dev: Device): number =>
  domain.domain.type === 'SVA' ? FLPT_DEFAULT_DID : domain_id_iommu(domain, dev_iommu_priv_get(dev).iommu);

/** iommu.h: domain_id_iommu: the domain's DID on this IOMMU (0 if it is not attached there). */
export const domain_id_iommu = (domain: DmarDomain, iommu: IntelIommu): number => domain.iommu_array?.get(iommu)?.did ?? 0;

/**
 * cache.c: domain_qi_batch_alloc (v7.0-rc5): the domain's batch, kzalloc'd (GFP_ATOMIC, under
 * cache_lock) by its first tag assignment and kept until the domain is freed.
 */
function* domain_qi_batch_alloc(domain: DmarDomain, dev: Device): Co<Errno | 0> {
  yield* spin_lock(domain.cache_lock);
  let ret: Errno | 0 = 0;
  if (domain.qi_batch === undefined) {
    if (dev_iommu_priv_get(dev).iommu.kernel.shouldFail('kzalloc@domain_qi_batch_alloc')) ret = 'ENOMEM';
    else domain.qi_batch = { descs: [] };
  }
  yield* spin_unlock(domain.cache_lock);
  return ret;
}

/**
 * cache.c: __cache_tag_assign_domain and __cache_tag_assign_parent_domain (v7.0): the batch,
 * the IOTLB tag, then (with ATS) the devTLB tag, whose failure unassigns the IOTLB tag again;
 * the parent's pair is the NESTING_* one.
 */
function* __cache_tag_assign_domain(domain: DmarDomain, did: number, dev: Device, pasid: number, parent: boolean): Co<Errno | 0> {
  const [iotlb, devtlb]: readonly [CacheTagType, CacheTagType] = parent ? ['NESTING_IOTLB', 'NESTING_DEVTLB'] : ['IOTLB', 'DEVTLB'];
  let ret = yield* domain_qi_batch_alloc(domain, dev);
  if (ret !== 0) return ret;
  ret = yield* cache_tag_assign(domain, did, dev, pasid, iotlb);
  if (ret !== 0 || !dev_iommu_priv_get(dev).ats_enabled) return ret;
  ret = yield* cache_tag_assign(domain, did, dev, pasid, devtlb);
  if (ret !== 0) yield* cache_tag_unassign(domain, did, dev, pasid, iotlb);
  return ret;
}

/** cache.c: __cache_tag_unassign_domain and __cache_tag_unassign_parent_domain (v7.0). */
function* __cache_tag_unassign_domain(domain: DmarDomain, did: number, dev: Device, pasid: number, parent: boolean): Co {
  yield* cache_tag_unassign(domain, did, dev, pasid, parent ? 'NESTING_IOTLB' : 'IOTLB');
  if (dev_iommu_priv_get(dev).ats_enabled) yield* cache_tag_unassign(domain, did, dev, pasid, parent ? 'NESTING_DEVTLB' : 'DEVTLB');
}

/**
 * cache.c: cache_tag_assign_domain (v7.0): the domain's own tags, then for a nested domain the
 * same pair on its parent, tagged with the nested domain's DID (the one in the PASID entry,
 * which tags the combined translations); a failure there unassigns the nested domain's tags.
 */
export function* cache_tag_assign_domain(domain: DmarDomain, dev: Device, pasid: number): Co<Errno | 0> {
  const did = domain_get_id_for_dev(domain, dev);
  let ret = yield* __cache_tag_assign_domain(domain, did, dev, pasid, false);
  if (ret !== 0 || domain.domain.type !== 'NESTED') return ret;
  ret = yield* __cache_tag_assign_domain(domain.s2_domain!, did, dev, pasid, true);
  if (ret !== 0) yield* __cache_tag_unassign_domain(domain, did, dev, pasid, false);
  return ret;
}

/** cache.c: cache_tag_unassign_domain (v7.0): the domain's tags, and a nested domain's on its parent. */
export function* cache_tag_unassign_domain(domain: DmarDomain, dev: Device, pasid: number): Co {
  const did = domain_get_id_for_dev(domain, dev);
  yield* __cache_tag_unassign_domain(domain, did, dev, pasid, false);
  if (domain.domain.type === 'NESTED') yield* __cache_tag_unassign_domain(domain.s2_domain!, did, dev, pasid, true);
}

/**
 * cache.c: calculate_psi_aligned_address, on u64. [start, end] inclusive byte addresses →
 * the aligned base address, the page count (a power of two) and the mask (log2 of it). An
 * unaligned range widens the mask to the lowest bit where pfn and end_pfn agree above the
 * mask, or to MAX_AGAW_PFN_WIDTH (everything) when they agree nowhere.
 */
export function calculate_psi_aligned_address(start: bigint, end: bigint): { addr: bigint; pages: bigint; mask: number } {
  const size = (end - start + 1n) & U64;
  // aligned_nrpages: PAGE_ALIGN((start & ~PAGE_MASK) + size) >> PAGE_SHIFT, wrapping as u64.
  const pages = ((((start & 0xfffn) + size + 0xfffn) & U64) & ~0xfffn) >> VTD_PAGE_SHIFT;
  let aligned = roundup_pow_of_two(pages);
  const bitmask = aligned - 1n;
  let mask = ilog2(aligned);
  const pfn = start >> VTD_PAGE_SHIFT;
  if ((bitmask & pfn) !== 0n) {
    const endPfn = pfn + pages - 1n;
    const shared = ~(pfn ^ endPfn) & ~bitmask & U64;
    mask = shared !== 0n ? ilog2(shared & -shared) : MAX_AGAW_PFN_WIDTH;
    aligned = 1n << BigInt(mask);
  }
  const block = 1n << (VTD_PAGE_SHIFT + BigInt(mask));
  return { addr: (start - (start % block)) & U64, pages: aligned, mask };
}

/** cache.c: qi_batch_flush_descs: submit what the batch holds, with one wait. */
function* qi_batch_flush_descs(iommu: IntelIommu | undefined, batch: QiBatch): Co {
  if (iommu === undefined || batch.descs.length === 0) return;
  yield* qi_submit_sync(iommu, batch.descs);
  batch.descs = [];
}

/** cache.c: qi_batch_increment_index: a full batch is submitted at once. */
function* qi_batch_add(iommu: IntelIommu, batch: QiBatch, desc: QiDesc): Co {
  batch.descs.push(desc);
  if (batch.descs.length === QI_MAX_BATCHED_DESC_COUNT) yield* qi_batch_flush_descs(iommu, batch);
}

/**
 * cache.c: intel_domain_use_piotlb (04b1b069f151). SVA and nested domains are first-stage
 * and need PASID-based IOTLB invalidations; 6.17's intel_domain_is_fs_paging alone sent them
 * second-stage descriptors that never hit first-stage entries (bug B07).
 */
const intel_domain_use_piotlb = (domain: DmarDomain): boolean => {
  if (domain.domain.mm?.kernel.fault === 'B07') {
    // b33125296b50 (v6.17) to 04b1b069f151: cache_tag_flush_iotlb asked only
    // intel_domain_is_fs_paging(domain), i.e. ops == &intel_fs_paging_domain_ops. An SVA
    // domain has intel_svm_domain_ops, so it fell through to the second-stage descriptors.
    return intel_domain_is_fs_paging(domain);
  }
  return domain.domain.type === 'SVA' || domain.domain.type === 'NESTED' || intel_domain_is_fs_paging(domain);
};

/** iommu.h: intel_domain_is_fs_paging: ops == &intel_fs_paging_domain_ops, a first-stage paging domain. */
export const intel_domain_is_fs_paging = (domain: DmarDomain): boolean => domain.pgtable?.first_stage === true;
/** iommu.h: intel_domain_is_ss_paging: ops == &intel_ss_paging_domain_ops, a second-stage paging domain. */
export const intel_domain_is_ss_paging = (domain: DmarDomain): boolean => domain.pgtable?.first_stage === false;

/** cache.c: cache_tag_flush_iotlb. */
function* cache_tag_flush_iotlb(domain: DmarDomain, tag: CacheTag, addr: bigint, pages: bigint, mask: number, ih: boolean): Co {
  const iommu = tag.iommu;
  const batch = domain.qi_batch!;
  if (intel_domain_use_piotlb(domain)) {
    // qi_batch_add_piotlb: npages 0 is not a valid input.
    if (pages !== 0n) yield* qi_batch_add(iommu, batch, qi_desc_piotlb(iommu, tag.domain_id, tag.pasid, addr, pages, ih));
    return;
  }
  // Second-stage: fall back to domain-selective when the mask is beyond MAMV or for "all".
  const dsi = mask > MAX_AMASK_VAL || pages === NPAGES_ALL;
  yield* qi_batch_add(iommu, batch, qi_desc_iotlb(tag.domain_id, dsi ? 0n : addr, dsi ? 0 : mask, dsi ? 'DSI' : 'PSI'));
}

/** cap_max_amask_val of the emulated unit (MAMV). */
const MAX_AMASK_VAL = 18;

/**
 * cache.c: cache_tag_flush_devtlb_psi: the PASID form, or without PASID for a RID tag. Mainline asks
 * nothing of the device. The fix of vtd-drain-devtlb-absent, in its complete form, also skips
 * a surprise-removed device here (pci_dev_is_disconnected): a fault the unplug's drain serves can
 * invalidate, and the removed device's DEVTLB tag is still assigned until
 * domain_remove_dev_pasid, so the flush would time out as the drain's own devTLB did.
 */
function* cache_tag_flush_devtlb_psi(domain: DmarDomain, tag: CacheTag, addr: bigint, mask: number): Co {
  const iommu = tag.iommu;
  if (!iommu.translation_enabled) return;
  if (tag.dev!.hw.disconnected && iommu.kernel.fixes.has('vtd-drain-devtlb-absent')) return;
  const info = dev_iommu_priv_get(tag.dev!);
  const desc = tag.pasid === IOMMU_NO_PASID ? qi_desc_dev_iotlb(info.sid, addr, mask) : qi_desc_dev_iotlb_pasid(info.sid, tag.pasid, addr, mask);
  yield* qi_batch_add(iommu, domain.qi_batch!, desc);
  if (info.dtlb_extra_inval) yield* qi_batch_add(iommu, domain.qi_batch!, desc);
}

/**
 * cache.c: cache_tag_flush_range (v7.0-rc5). Invalidates [start, end] (inclusive) wherever the
 * domain's tags say translations may be cached: per IOMMU, its IOTLB tags then its device-TLB
 * tags, batched, with one wait per IOMMU (the batch is submitted when the IOMMU changes). The
 * walk and the submissions run under &domain->cache_lock (spin_lock_irqsave), so a tag
 * assignment on another CPU waits for the flush; the QI waits inside it are yield points.
 * On a nest parent, a NESTING_IOTLB tag is flushed as the parent's own (second-stage
 * descriptors with the nested DID) and a NESTING_DEVTLB tag flushes the device's whole PASID
 * ("no easy way to identify the exact set of nested translations affected by a change in
 * S2"); the C widens `addr`/`mask` themselves there, so every later tag of the same walk is
 * flushed whole too, as ported.
 */
/**
 * Harness bookkeeping, no kernel counterpart: finding vtd-rid-attach-tags-after-entry when a flush
 * of `domain` runs while one of its RID devices has its IOMMU_NO_PASID entry present and no DEVTLB
 * tag (dmar_domain_attach_device between its entry setup and cache_tag_assign_domain).
 */
const noteUntaggedRid = (domain: DmarDomain): void => {
  for (const info of domain.devices) {
    if (!info.ats_enabled || info.pasid_table?.fetch(IOMMU_NO_PASID)?.present !== true) continue;
    if (domain.cache_tags.some((t) => t.type === 'DEVTLB' && t.dev === info.dev && t.pasid === IOMMU_NO_PASID)) continue;
    noteFinding(info.iommu.kernel, 'vtd-rid-attach-tags-after-entry');
  }
};

export function* cache_tag_flush_range(domain: DmarDomain, start: bigint, end: bigint, ih: boolean): Co {
  noteUntaggedRid(domain);
  let addr = 0n;
  let pages = NPAGES_ALL;
  let mask = MAX_AGAW_PFN_WIDTH;
  if (!(start === 0n && end === ULONG_MAX)) ({ addr, pages, mask } = calculate_psi_aligned_address(start, end));
  let iommu: IntelIommu | undefined;
  yield* spin_lock(domain.cache_lock);
  for (const tag of domain.cache_tags) {
    if (iommu !== undefined && iommu !== tag.iommu) yield* qi_batch_flush_descs(iommu, domain.qi_batch!);
    iommu = tag.iommu;
    if (tag.type === 'NESTING_DEVTLB') {
      addr = 0n;
      pages = NPAGES_ALL;
      mask = MAX_AGAW_PFN_WIDTH;
    }
    yield* match(tag)
      .with({ type: 'IOTLB' }, { type: 'NESTING_IOTLB' }, (t) => cache_tag_flush_iotlb(domain, t, addr, pages, mask, ih))
      .with({ type: 'DEVTLB' }, { type: 'NESTING_DEVTLB' }, (t) => cache_tag_flush_devtlb_psi(domain, t, addr, mask))
      .exhaustive();
    if (iommu.kernel.trace) {
      iommu.kernel.trace.event('driver', iommu.name,
        `cache_tag_flush_range ${tag.type} pasid=${tag.pasid} addr=${addr.toString(16)} mask=${mask}`);
    }
  }
  if (domain.qi_batch !== undefined) yield* qi_batch_flush_descs(iommu, domain.qi_batch);
  yield* spin_unlock(domain.cache_lock);
}

/**
 * cache.c: cache_tag_flush_all (v7.0-rc5: since 3141153816bf "Fix missing PASID in dev TLB
 * flush with cache_tag_flush_all", the whole-range case of cache_tag_flush_range).
 */
export function* cache_tag_flush_all(domain: DmarDomain): Co {
  if (domain.domain.mm?.kernel.fault === 'B61' || domain.domain.kernel?.fault === 'B61') return yield* cache_tag_flush_all_v6_10(domain);
  yield* cache_tag_flush_range(domain, 0n, ULONG_MAX, false);
}

/**
 * B61 only: cache.c: cache_tag_flush_all as c4d27ffaa8eb (v6.10) wrote it, before
 * 3141153816bf (v6.17): each IOTLB tag flushed whole, but each device-TLB tag through
 * cache_tag_flush_devtlb_all, which sends the non-PASID device-TLB invalidation
 * (qi_batch_add_dev_iotlb) whatever the tag's PASID: the ATC entries of a PASID stay.
 */
function* cache_tag_flush_all_v6_10(domain: DmarDomain): Co {
  let iommu: IntelIommu | undefined;
  domain.qi_batch ??= { descs: [] };
  const batch = domain.qi_batch;
  yield* spin_lock(domain.cache_lock);
  for (const tag of domain.cache_tags) {
    if (iommu !== undefined && iommu !== tag.iommu) yield* qi_batch_flush_descs(iommu, batch);
    iommu = tag.iommu;
    if (tag.type === 'IOTLB' || tag.type === 'NESTING_IOTLB') {
      yield* cache_tag_flush_iotlb(domain, tag, 0n, NPAGES_ALL, 0, false);
      continue;
    }
    const info = dev_iommu_priv_get(tag.dev!);
    yield* qi_batch_add(iommu, batch, qi_desc_dev_iotlb(info.sid, 0n, MAX_AGAW_PFN_WIDTH));
    if (info.dtlb_extra_inval) yield* qi_batch_add(iommu, batch, qi_desc_dev_iotlb(info.sid, 0n, MAX_AGAW_PFN_WIDTH));
  }
  yield* qi_batch_flush_descs(iommu, batch);
  yield* spin_unlock(domain.cache_lock);
}
