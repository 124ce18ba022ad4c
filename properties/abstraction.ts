/**
 * The refinement mapping: abstract(world) reads the impl's kernel objects (never the spec) and
 * returns the spec's AbstractView (src/spec/view.ts documents every field). The refinement
 * check (lifecycle/refinement.ts) holds when this equals abstractView(spec) after every step.
 *
 *   slot state  ← slotState: mm_struct present / exited / lazy ref held / freed
 *   slot pasid  ← mm->iommu_mm->pasid (null without one, or once __mmdrop dropped it)
 *   pages       ← the VMA list and a software walk of mm->pgd (PROT_NONE = U without P)
 *   pending     ← mmu_notifiers put to users 0 but not yet freed by the grace period
 *   domains     ← each mm's iommu_mm->sva_domains in list order; groups (and their iommus)
 *                 attached through them (pasid_array handles), asid from the driver (SMMUv3 cd.asid)
 *   handles     ← the groups' pasid_array handle entries; bonds ← the callers' fds
 *   pasids      ← iommu_global_pasid_ida; asids ← arm_smmu_asid_xa; kpages ← the kernel half
 *   hwpts       ← the iommufd HWPTs with a domain, and the SMMU it is tied to (domainInstance)
 */
import { PTE_P, PTE_W, pteFrame } from '../src/hw/mem.js';
import { slotState, type IommuDomain, type IommuGroup, type MmStruct, type World } from '../src/impl/index.js';
import { kernelVpn, userVpn, type Prot } from '../src/shared/index.js';
import type { AbstractView, DomainView, HandleView, PageView, SlotView } from '../src/spec/index.js';
import { platformOf } from './lifecycle/platform/index.js';

const byNum = (a: number, b: number): number => a - b;

/** The protection a leaf PTE grants: 0 = none mapped; U without P = PROT_NONE (frame kept). */
export const pteProt = (e: number): Prot | null => (e === 0 ? null : (e & PTE_P) === 0 ? 'none' : (e & PTE_W) !== 0 ? 'rw' : 'r');

/** The VMA covering `page`, by protection. */
export const vmaProt = (mm: MmStruct, page: number): Prot | null => {
  for (const v of mm.vmas) if (page >= v.first && page < v.first + v.count) return v.prot;
  return null;
};

function pagesOf(world: World, mm: MmStruct | undefined): PageView[] {
  const pages: PageView[] = [];
  // A freed mm_struct's pgd is gone; exit_mmap already emptied it (the spec clears at exit).
  if (mm === undefined || mm.freed) return pages;
  for (let page = 0; page < world.topology.pages; page++) {
    const e = mm.pgd.lookup(userVpn(page));
    const vma = vmaProt(mm, page);
    const pte = pteProt(e);
    if (vma === null && pte === null) continue;
    const mem = world.kernel.mem;
    pages.push({ page, vma, pte, token: e === 0 ? null : mem.token(pteFrame(e)), exclusive: e === 0 ? null : mem.anonExclusive(pteFrame(e)) });
  }
  return pages;
}

/** Notifiers of `mm` waiting for their SRCU free (mmu_notifier_put dropped the last user). */
export function pendingNotifiers(world: World, mm: MmStruct): number {
  let n = 0;
  for (const sub of world.core.live.notifiers) if (sub.mm === mm && sub.users === 0 && !sub.freed) n++;
  return n;
}

/** The groups whose pasid_array attaches `domain`, in group order. */
const domainGroups = (world: World, domain: IommuDomain): IommuGroup[] =>
  world.groups.filter((g) => {
    for (const e of g.pasid_array.values()) if (e.kind === 'handle' && e.handle.domain === domain) return true;
    return false;
  });


export function abstract(world: World): AbstractView {
  const p = platformOf(world);
  const slots = world.mms.map((mm, slot): SlotView => {
    const d = mm?.iommu_mm;
    return {
      slot,
      state: slotState(world, slot),
      gen: mm?.gen ?? 0,
      pasid: mm === undefined || mm.freed || d === undefined || d.freed ? null : d.pasid,
      pages: pagesOf(world, mm),
      pendingNotifiers: mm === undefined ? 0 : pendingNotifiers(world, mm),
    };
  });
  const domains: DomainView[] = [];
  for (const mm of world.mms) {
    for (const dom of mm?.iommu_mm?.sva_domains ?? []) {
      const asid = p.asid(dom);
      const attached = domainGroups(world, dom);
      const groups = attached.map((g) => g.id).sort(byNum);
      const iommus = [...new Set(attached.map((g) => g.devices[0]!.iommu.index))].sort(byNum);
      domains.push({ mm: mm!.slot, groups, iommus, users: dom.users, asid: asid === 0 ? null : asid });
    }
  }
  const handles: HandleView[] = [];
  for (const g of world.groups) {
    for (const e of g.pasid_array.values()) {
      if (e.kind === 'handle') handles.push({ mm: e.handle.domain.mm?.slot ?? -1, group: g.id, users: e.handle.users });
    }
  }
  handles.sort((a, b) => a.mm - b.mm || a.group - b.group);
  const bonds: { dev: number; mm: number; n: number }[] = [];
  for (let dev = 0; dev < world.devices.length; dev++) {
    for (let slot = 0; slot < world.mms.length; slot++) {
      const fd = world.fds[slot]![dev];
      if (fd !== undefined && fd.binds > 0) bonds.push({ dev, mm: slot, n: fd.binds });
    }
  }
  const kpages: { kpage: number; token: number }[] = [];
  for (let kpage = 0; kpage < world.topology.kpages; kpage++) {
    const e = world.kspace.lookup(kernelVpn(kpage));
    if ((e & PTE_P) !== 0) kpages.push({ kpage, token: world.kernel.mem.token(pteFrame(e)) });
  }
  return {
    slots, domains, handles, bonds,
    pasids: [...world.core.pasidIda].sort(byNum),
    asids: p.asids(world),
    kpages,
    failArmed: world.core.inject.armed ?? null,
    hwpts: world.hwpts.flatMap((h, hwpt) => (h.domain === undefined ? [] : [{ hwpt, iommu: p.domainInstance(h.domain) ?? null }])),
  };
}
