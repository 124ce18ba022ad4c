/**
 * The refinement check's fast path: decides, without building either view, whether
 * abstract(world) would equal abstractView(spec). It may say "different" when the views are
 * equal (the caller then builds both and diffs them), never "equal" when they differ; the
 * property test in test/properties/lifecycle/refinement.test.ts holds it to that. It reads the
 * same kernel objects as ../abstraction.ts and the spec's state directly (state.ts codes).
 */
import { PTE_P, PTE_W, pteFrame, type PhysMem } from '../../src/hw/mem.js';
import { levelIndex } from '../../src/hw/radix.js';
import type { IommuDomain, IommuSva, World } from '../../src/impl/index.js';
import { kernelVpn, userVpn, type Prot } from '../../src/shared/index.js';
import { MM, type SpecState } from '../../src/spec/index.js';
import { PTE_ABSENT, PTE_PROTNONE, PTE_RO, PTE_RW, VMA_NONE, VMA_PROTNONE, VMA_R, VMA_RW } from '../../src/spec/state.js';
import { vmaProt } from '../abstraction.js';
import { PerWorld } from './perWorld.js';
import { platformOf } from './platform/index.js';

const vmaCode = (p: Prot | null): number => (p === null ? VMA_NONE : p === 'none' ? VMA_PROTNONE : p === 'r' ? VMA_R : VMA_RW);
const pteCode = (e: number): number => (e === 0 ? PTE_ABSENT : (e & PTE_P) === 0 ? PTE_PROTNONE : (e & PTE_W) !== 0 ? PTE_RW : PTE_RO);

/** Table levels indexed per page (1 = PTE table … 5 = a 5-level pgd): idx[page * LEVELS + level]. */
const LEVELS = 6;

/**
 * levelIndex(vpn, level) for every level of a list of vpns, computed once per world: the
 * layout fixes the vpns, and levelIndex's float division and modulo, once per level per page
 * per step, were the largest single cost of this check.
 */
function indices(vpns: readonly number[]): Int32Array {
  const idx = new Int32Array(vpns.length * LEVELS);
  vpns.forEach((vpn, i) => {
    for (let level = 1; level < LEVELS; level++) idx[i * LEVELS + level] = levelIndex(vpn, level);
  });
  return idx;
}

/** The leaf table covering vpn number i of idx, or -1 when an upper level is not present. */
function leafTable(mem: PhysMem, root: number, levels: number, idx: Int32Array, i: number): number {
  let table = root;
  for (let level = levels; level > 1; level--) {
    const e = mem.entry(table, idx[i * LEVELS + level]!);
    if ((e & PTE_P) === 0) return -1;
    table = pteFrame(e);
  }
  return table;
}

/**
 * Per world: pending-notifier counts per slot, matched (slot, group) handle marks, and the
 * table indices of the user pages and kernel pages.
 */
interface Scratch {
  readonly pending: Int32Array;
  readonly matched: Uint8Array;
  readonly user: Int32Array;
  readonly kernel: Int32Array;
  readonly handles: HandleScan;
}
const scratchOf = new PerWorld<Scratch>((world) => ({
  pending: new Int32Array(world.mms.length),
  matched: new Uint8Array(world.mms.length * world.groups.length),
  user: indices(Array.from({ length: world.topology.pages }, (_, page) => userVpn(page))),
  kernel: indices(Array.from({ length: world.topology.kpages }, (_, k) => kernelVpn(k))),
  handles: { n: 0, domains: [], handles: [], groups: [], bits: [] },
}));

function slotsMatch(world: World, s: SpecState, pending: Int32Array, idx: Int32Array): boolean {
  const mem = world.kernel.mem;
  const pages = world.topology.pages;
  for (let slot = 0; slot < world.mms.length; slot++) {
    const mm = world.mms[slot];
    const sl = s.slots[slot]!;
    const state = mm === undefined ? MM.unborn : mm.freed ? MM.freed : !mm.exited ? MM.live : world.lazyRef[slot] ? MM.exited : MM.dropped;
    if (state !== sl.mm.state || (mm?.gen ?? 0) !== sl.gen || pending[slot] !== sl.pendingNotifiers) return false;
    const d = mm?.iommu_mm;
    const pasid = mm === undefined || mm.freed || d === undefined || d.freed ? -1 : d.pasid;
    const want = sl.pasid.ctx.pasid;
    if (pasid !== (want === 0 ? -1 : want)) return false;
    if (mm === undefined || mm.freed) {
      for (let page = 0; page < pages; page++) if (sl.vma[page] !== VMA_NONE || sl.pte[page] !== PTE_ABSENT) return false;
      continue;
    }
    const { root, levels } = mm.pgd;
    let leaf = -1;
    for (let page = 0; page < pages; page++) {
      // Pages 2k and 2k+1 share a PTE table (layout.ts): walk the upper levels once per pair.
      if ((page & 1) === 0) leaf = leafTable(mem, root, levels, idx, page);
      const e = leaf < 0 ? 0 : mem.entry(leaf, idx[page * LEVELS + 1]!);
      if (vmaCode(vmaProt(mm, page)) !== sl.vma[page] || pteCode(e) !== sl.pte[page]) return false;
      if (e !== 0 && (mem.token(pteFrame(e)) !== sl.token[page] || mem.anonExclusive(pteFrame(e)) !== (sl.exclusive[page] === 1))) return false;
    }
  }
  return true;
}

/**
 * The handle entries of every group's pasid_array, in one pass: their count, and per entry its
 * domain, group index and the IOMMU bit of the group. domainsMatch and handlesMatch read
 * these arrays instead of iterating every Map again (once per listed domain, then once more);
 * the arrays are the world's scratch, overwritten each check.
 */
interface HandleScan {
  n: number;
  readonly domains: IommuDomain[];
  readonly handles: IommuSva[];
  readonly groups: number[];
  readonly bits: number[];
}

function scanHandles(world: World, h: HandleScan): void {
  const groups = world.groups;
  let n = 0;
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi]!;
    if (g.pasid_array.size === 0) continue;
    for (const e of g.pasid_array.values()) {
      if (e.kind !== 'handle') continue;
      h.domains[n] = e.handle.domain;
      h.handles[n] = e.handle;
      h.groups[n] = gi;
      h.bits[n] = 1 << g.devices[0]!.iommu.index;
      n++;
    }
  }
  // Drop references past the end, so a scratch array keeps no freed object alive.
  for (let i = n; i < h.domains.length; i++) {
    h.domains[i] = undefined as unknown as IommuDomain;
    h.handles[i] = undefined as unknown as IommuSva;
  }
  h.n = n;
}

function domainsMatch(world: World, s: SpecState, h: HandleScan): boolean {
  const p = platformOf(world);
  const { t } = s;
  for (let slot = 0; slot < world.mms.length; slot++) {
    const list = world.mms[slot]?.iommu_mm?.sva_domains;
    const want = s.slots[slot]!.domains;
    if ((list?.length ?? 0) !== want.length) return false;
    for (let i = 0; i < want.length; i++) {
      const dom = list![i]!;
      const sd = want[i]!;
      if (dom.users !== sd.m.ctx.users || p.asid(dom) !== sd.asid) return false;
      // The IOMMUs of the groups whose pasid_array attaches dom through a handle.
      let mask = 0;
      for (let k = 0; k < h.n; k++) if (h.domains[k] === dom) mask |= h.bits[k]!;
      let wantMask = 0;
      for (const g of sd.groups) wantMask |= 1 << t.topology.devices[t.groupDevs[g]![0]!]!.iommu;
      if (mask !== wantMask) return false;
    }
  }
  return true;
}

function handlesMatch(world: World, s: SpecState, matched: Uint8Array, h: HandleScan): boolean {
  const groups = world.groups;
  const G = groups.length;
  for (let gi = 0; gi < G; gi++) if (groups[gi]!.id !== s.t.groupId[gi]) return false;
  matched.fill(0);
  for (let k = 0; k < h.n; k++) {
    const handle = h.handles[k]!;
    const gi = h.groups[k]!;
    const slot = h.domains[k]!.mm?.slot;
    if (slot === undefined) return false;
    const want = s.slots[slot]?.handles[gi];
    if (want === undefined || want.users !== handle.users || matched[slot * G + gi] !== 0) return false;
    matched[slot * G + gi] = 1;
  }
  let n = h.n;
  for (const sl of s.slots) for (const x of sl.handles) if (x !== undefined) n--;
  return n === 0;
}

function globalsMatch(world: World, s: SpecState, idx: Int32Array): boolean {
  const { core, fds } = world;
  if ((core.inject.armed ?? null) !== (s.failArmed ?? null)) return false;
  if (core.pasidIda.size !== s.pasids.size) return false;
  for (const p of core.pasidIda) if (!s.pasids.has(p)) return false;
  const p = platformOf(world);
  if (!p.asidsAre(world, s.asids)) return false;
  for (let h = 0; h < world.hwpts.length; h++) {
    const domain = world.hwpts[h]!.domain;
    const want = s.hwpts[h]!;
    if ((domain !== undefined) !== want.allocated || (domain !== undefined && (p.domainInstance(domain) ?? -1) !== want.iommu)) return false;
  }
  const mms = world.mms.length;
  for (let dev = 0; dev < world.devices.length; dev++) {
    for (let slot = 0; slot < mms; slot++) {
      const fd = fds[slot]![dev];
      const n = fd !== undefined && fd.binds > 0 ? fd.binds : 0;
      const want = s.bonds[dev * mms + slot]!.ctx.n;
      if (n !== (want > 0 ? want : 0)) return false;
    }
  }
  const mem = world.kernel.mem;
  const { kspace } = world;
  for (let k = 0; k < world.topology.kpages; k++) {
    // kspace.lookup(kernelVpn(k)), with the indices computed once.
    const leaf = leafTable(mem, kspace.root, kspace.rootLevel, idx, k);
    const e = leaf < 0 ? 0 : mem.entry(leaf, idx[k * LEVELS + 1]!);
    const mapped = (e & PTE_P) !== 0;
    if (mapped !== (s.kMapped[k] === 1) || (mapped && mem.token(pteFrame(e)) !== s.kToken[k])) return false;
  }
  return true;
}

/** True only if abstract(world) deep-equals abstractView(spec). */
export function matchesSpec(world: World, s: SpecState): boolean {
  const scratch = scratchOf.get(world);
  const { pending } = scratch;
  pending.fill(0);
  for (const sub of world.core.live.notifiers) {
    if (sub.users === 0 && !sub.freed && world.mms[sub.mm.slot] === sub.mm) pending[sub.mm.slot]!++;
  }
  if (s.slots.length !== world.mms.length) return false;
  if (!globalsMatch(world, s, scratch.kernel) || !slotsMatch(world, s, pending, scratch.user)) return false;
  scanHandles(world, scratch.handles);
  return domainsMatch(world, s, scratch.handles) && handlesMatch(world, s, scratch.matched, scratch.handles);
}
