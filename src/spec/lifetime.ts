/**
 * Who keeps an mm_struct alive, and what happens when the last reference goes.
 * kernel/fork.c (v6.17): __mmdrop → mm_pasid_drop; drivers/iommu/iommu-sva.c: each SVA domain
 * mmgrab()s its mm and iommu_domain_free mmdrop()s it; mm/mmu_notifier.c: register mmgrabs,
 * mmu_notifier_put queues free_notifier with call_srcu and mmdrops after it.
 */
import type { FailSite } from '../shared/index.js';
import { domainTable, mmTable, pasidTable } from './machines/index.js';
import { MM } from './state.js';
import type { SpecDomain, SpecSlot, SpecState } from './state.js';

/** mm_count references other than the process's own: live domains and pending notifiers. */
export const svaPinned = (sl: SpecSlot): boolean => sl.domains.length > 0 || sl.pendingNotifiers > 0;

/**
 * Fault injection: did the call at `site`, which the spec's command makes here, fail? Once
 * consumed, the injection is spent (and an armed failNext with it).
 */
export const consumeFail = (s: SpecState, site: FailSite): boolean => {
  if (s.injected !== site) return false;
  if (s.injectSkip > 0) {
    s.injectSkip--;
    return false;
  }
  s.injected = undefined;
  if (s.failArmed === site) s.failArmed = undefined;
  return true;
};

/** Whether one of `sites` failed, consuming it; the failing site's errno, else undefined. */
export const consumeAnyFail = (s: SpecState, sites: ReadonlySet<FailSite>): FailSite | undefined => {
  const site = s.injected;
  if (site === undefined || !sites.has(site)) return undefined;
  return consumeFail(s, site) ? site : undefined;
};

/**
 * kernel/fork.c: __mmdrop → iommu-sva.c: mm_pasid_drop: the PASID returns to the global IDA
 * (iommu_free_global_pasid) only now, never at exit or unbind (B01, B02).
 */
const mmdropFinal = (s: SpecState, sl: SpecSlot): void => {
  const pasid = sl.pasid.ctx.pasid;
  if (pasid !== 0) {
    s.pasids.delete(pasid);
    pasidTable.send(sl.pasid, { type: 'free' }, s.coverage);
  }
};

/** The process's own mmdrop (contracts: mm exited). */
export const mmdrop = (s: SpecState, slot: number): void => {
  const sl = s.slots[slot]!;
  mmTable.send(sl.mm, { type: 'mmdrop', pinned: svaPinned(sl) }, s.coverage);
  if (sl.mm.state === MM.freed) mmdropFinal(s, sl);
};

/**
 * drivers/iommu/iommu.c: iommu_domain_free of an SVA domain: mmdrop(domain->mm), then the
 * driver's free: SMMUv3 xa_erase()s the ASID at once (arm_smmu_sva_domain_free), and both
 * drivers mmu_notifier_put(), whose mm_count reference is dropped only after a grace period;
 * AMD frees its domain ID and unregisters the notifier synchronously.
 */
export const freeDomain = (s: SpecState, d: SpecDomain): void => {
  const sl = s.slots[d.slot]!;
  const i = sl.domains.indexOf(d);
  if (i >= 0) sl.domains.splice(i, 1);
  if (d.asid !== 0) s.asids.delete(d.asid);
  if (s.t.topology.platform !== 'amd') {
    sl.pendingNotifiers += 1;
    return;
  }
  // AMD (amd/pasid.c iommu_sva_domain_free): mmu_notifier_unregister drops the notifier's
  // mm_count at once, with no grace period; the last pin of a dropped mm frees it now.
  if (sl.mm.state === MM.dropped && !svaPinned(sl)) {
    mmTable.send(sl.mm, { type: 'unpin' }, s.coverage);
    mmdropFinal(s, sl);
  }
};

/** mm/mmu_notifier.c: the SRCU grace period elapses: every mmu_notifier_free_rcu runs and mmdrops. */
export const gracePeriod = (s: SpecState): void => {
  for (const sl of s.slots) {
    if (sl.pendingNotifiers === 0) continue;
    sl.pendingNotifiers = 0;
    if (sl.mm.state === MM.dropped && !svaPinned(sl)) {
      mmTable.send(sl.mm, { type: 'unpin' }, s.coverage);
      mmdropFinal(s, sl);
    }
  }
};

/** A new mm_struct in the slot: mm_init; mm_pasid_init leaves iommu_mm NULL. */
export const newIncarnation = (s: SpecState, slot: number, how: 'spawn' | 'fork'): SpecSlot => {
  const sl = s.slots[slot]!;
  mmTable.send(sl.mm, { type: how }, s.coverage);
  sl.gen += 1;
  sl.pasid = pasidTable.create();
  sl.vma.fill(0);
  sl.pte.fill(0);
  sl.token.fill(0);
  sl.exclusive.fill(0);
  return sl;
};

/** Discards a domain whose first attach failed (iommu_sva_bind_device: out_free_domain). */
export const discardDomain = (s: SpecState, d: SpecDomain): void => {
  domainTable.send(d.m, { type: 'discard' }, s.coverage);
  freeDomain(s, d);
};
