/**
 * The abstract view the refinement check compares with abstract(world): plain, sorted,
 * JSON-serialisable data, equal (deep-equal / JSON-identical) iff the two states agree.
 *
 * How the impl side maps onto it (properties/ builds the same shape from the kernel objects):
 * - slots[i].state: unborn (never had an mm_struct) | live (mm_users ≥ 1) | exited (exit_mmap
 *   ran, the process still holds its mm_count) | dropped (only SVA holds mm_count) | freed
 *   (__mmdrop ran); gen = incarnation (MmStruct.gen), 0 before the first.
 * - slots[i].pasid: mm->iommu_mm->pasid, null without iommu_mm (and once freed).
 * - slots[i].pages: one entry per page that has a VMA or a PTE, sorted by page:
 *   vma = VMA protection or null, pte = 'none' (PROT_NONE, frame kept) | 'r' | 'rw' | null,
 *   token = content token of the mapped frame or null, exclusive = PageAnonExclusive of that
 *   frame (false while a fork shares it copy-on-write) or null.
 * - slots[i].pendingNotifiers: mmu_notifiers put but not yet freed (awaiting a grace period).
 * - domains: the SVA domains of each mm by mm, each mm's in sva_domains list order (newest
 *   first: a bind tries them in that order, so the order is state); groups = sorted topology
 *   group numbers attached through it, iommus = their sorted distinct IOMMU indexes, users =
 *   domain->users, asid = SMMUv3 cd.asid (null on VT-d).
 * - handles: the SVA attach handles in the groups' pasid_array, sorted by (mm, group); group is
 *   the topology's group number, users = handle refcount.
 * - bonds: caller-level (dev, mm, n = binds − unbinds) with n > 0, sorted by (dev, mm): what the
 *   harness's handle bookkeeping holds (with a multi-device group several bonds share a handle).
 * - pasids: the global PASID IDA, sorted. asids: arm_smmu_asid_xa, sorted (empty on VT-d).
 * - kpages: mapped kernel vmalloc pages with their tokens, sorted.
 * - failArmed: the armed fault-injection site, or null.
 * - hwpts: the iommufd HWPTs whose domain is allocated, by id; iommu = the SMMU its domain is
 *   tied to (SMMUv3's smmu_domain->smmu), null where a domain spans IOMMUs (VT-d).
 */
import type { FailSite, Prot } from '../shared/index.js';
import { mmTable } from './machines/index.js';
import type { MmState } from './machines/index.js';
import { PTE_ABSENT, PTE_PROTNONE, PTE_RO, VMA_NONE, VMA_PROTNONE, VMA_R } from './state.js';
import type { SpecState } from './state.js';

export interface PageView {
  readonly page: number;
  readonly vma: Prot | null;
  readonly pte: Prot | null;
  readonly token: number | null;
  readonly exclusive: boolean | null;
}
export interface SlotView {
  readonly slot: number;
  readonly state: MmState;
  readonly gen: number;
  readonly pasid: number | null;
  readonly pages: readonly PageView[];
  readonly pendingNotifiers: number;
}
export interface DomainView {
  readonly mm: number;
  readonly groups: readonly number[];
  readonly iommus: readonly number[];
  readonly users: number;
  readonly asid: number | null;
}
export interface HandleView {
  readonly mm: number;
  readonly group: number;
  readonly users: number;
}
export interface BondView {
  readonly dev: number;
  readonly mm: number;
  readonly n: number;
}
export interface HwptView {
  readonly hwpt: number;
  readonly iommu: number | null;
}
export interface AbstractView {
  readonly slots: readonly SlotView[];
  readonly domains: readonly DomainView[];
  readonly handles: readonly HandleView[];
  readonly bonds: readonly BondView[];
  readonly pasids: readonly number[];
  readonly asids: readonly number[];
  readonly kpages: readonly { readonly kpage: number; readonly token: number }[];
  readonly failArmed: FailSite | null;
  readonly hwpts: readonly HwptView[];
}

const vmaProt = (c: number): Prot | null => (c === VMA_NONE ? null : c === VMA_PROTNONE ? 'none' : c === VMA_R ? 'r' : 'rw');
const pteProt = (c: number): Prot | null => (c === PTE_ABSENT ? null : c === PTE_PROTNONE ? 'none' : c === PTE_RO ? 'r' : 'rw');
const byNum = (a: number, b: number): number => a - b;

export const abstractView = (s: SpecState): AbstractView => {
  const { t } = s;
  const slots = s.slots.map((sl, slot): SlotView => {
    const pages: PageView[] = [];
    for (let page = 0; page < sl.vma.length; page++) {
      if (sl.vma[page] === VMA_NONE && sl.pte[page] === PTE_ABSENT) continue;
      const present = sl.pte[page] !== PTE_ABSENT;
      pages.push({
        page, vma: vmaProt(sl.vma[page]!), pte: pteProt(sl.pte[page]!),
        token: present ? sl.token[page]! : null, exclusive: present ? sl.exclusive[page] === 1 : null,
      });
    }
    const pasid = sl.pasid.ctx.pasid;
    return {
      slot, state: mmTable.states[sl.mm.state] as MmState, gen: sl.gen, pasid: pasid === 0 ? null : pasid,
      pages, pendingNotifiers: sl.pendingNotifiers,
    };
  });
  const domains: DomainView[] = [];
  const handles: HandleView[] = [];
  s.slots.forEach((sl, mm) => {
    for (const d of sl.domains) {
      const groups = d.groups.map((g) => t.groupId[g]!).sort(byNum);
      const iommus = [...new Set(d.groups.map((g) => t.topology.devices[t.groupDevs[g]![0]!]!.iommu))].sort(byNum);
      domains.push({ mm, groups, iommus, users: d.m.ctx.users, asid: d.asid === 0 ? null : d.asid });
    }
    sl.handles.forEach((h, g) => {
      if (h !== undefined) handles.push({ mm, group: t.groupId[g]!, users: h.users });
    });
  });
  handles.sort((a, b) => a.mm - b.mm || a.group - b.group);
  const bonds: BondView[] = [];
  const { mms } = t.topology;
  s.bonds.forEach((b, i) => {
    if (b.ctx.n > 0) bonds.push({ dev: Math.floor(i / mms), mm: i % mms, n: b.ctx.n });
  });
  const kpages: { kpage: number; token: number }[] = [];
  s.kMapped.forEach((m, kpage) => {
    if (m === 1) kpages.push({ kpage, token: s.kToken[kpage]! });
  });
  return {
    slots, domains, handles, bonds,
    pasids: [...s.pasids].sort(byNum),
    asids: [...s.asids].sort(byNum),
    kpages,
    failArmed: s.failArmed ?? null,
    hwpts: hwptViews(s),
  };
};

const hwptViews = (s: SpecState): HwptView[] => {
  const out: HwptView[] = [];
  s.hwpts.forEach((h, hwpt) => {
    if (h.allocated) out.push({ hwpt, iommu: h.iommu < 0 ? null : h.iommu });
  });
  return out;
};

/** Human-readable differences between two views (empty when equal), for violation messages. */
export const diffViews = (expected: AbstractView, actual: AbstractView): string[] => {
  const out: string[] = [];
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (out.length >= 20) return;
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) out.push(`${path}: length ${a.length} expected, ${b.length} actual`);
      for (let i = 0; i < Math.min(a.length, b.length); i++) walk(a[i], b[i], `${path}[${i}]`);
    } else if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
      for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      }
    } else if (a !== b) {
      out.push(`${path}: ${JSON.stringify(a)} expected, ${JSON.stringify(b)} actual`);
    }
  };
  walk(expected, actual, 'view');
  return out;
};
