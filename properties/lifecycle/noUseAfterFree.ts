/**
 * I10 No use-after-free: nothing reachable references a freed (tombstoned) object, and every
 * mm_struct's mm_count equals the references that are actually held: one for all mm_users
 * together, the exited task's lazy-TLB reference, one per allocated SVA domain
 * (iommu_sva_domain_alloc: mmgrab) and one per mmu_notifier until its SRCU free.
 */
import type { MmStruct, World } from '../../src/impl/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import { PerWorld } from './perWorld.js';
import { platformOf } from './platform/index.js';
import { Findings } from './scan.js';

const findings = new Findings('I10');

/** Per-slot count of SVA pins (domains + notifiers) on each world's current mm_structs. */
const pinsOf = new PerWorld<Int32Array>((world) => new Int32Array(world.mms.length));

const name = (mm: MmStruct): string => `mm${mm.slot}#${mm.gen}`;
const pinned = (mm: MmStruct | undefined): string => (mm === undefined ? 'no mm' : `freed ${name(mm)}`);

/** Count a pin on mm; false when it pins nothing valid (the caller reports it). */
function pin(mms: World['mms'], pins: Int32Array, mm: MmStruct | undefined): boolean {
  if (mm === undefined || mm.freed || mms[mm.slot] !== mm) return false;
  pins[mm.slot]!++;
  return true;
}

function check({ world }: CheckContext): readonly Violation[] {
  const f = findings.begin();
  const { mms, core } = world;
  const pins = pinsOf.get(world);
  pins.fill(0);
  const p = platformOf(world);

  for (const dom of core.live.domains) {
    if (dom.freed || p.driverFreed(dom)) f.add({ domain: dom.id }, `allocated domain ${dom.id} is freed`);
    if (!pin(mms, pins, dom.mm)) f.add({ domain: dom.id }, `domain ${dom.id} pins ${pinned(dom.mm)}`);
  }
  for (const n of core.live.notifiers) {
    if (n.freed) f.add({ mm: n.mm.slot }, `a notifier of ${name(n.mm)} is freed but still allocated`);
    if (!pin(mms, pins, n.mm)) f.add({ mm: n.mm.slot }, `an mmu_notifier pins ${pinned(n.mm)}`);
  }
  for (const h of core.live.handles) {
    if (h.freed) f.add({ handle: h.id }, `allocated handle ${h.id} is freed`);
  }
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      if (e.kind !== 'handle') continue;
      const h = e.handle;
      const dom = h.domain;
      if (h.freed) f.add({ group: g.id, pasid, handle: h.id, domain: dom.id }, `group ${g.id} PASID ${pasid} holds freed handle ${h.id}`);
      if (dom.freed || (dom.type === 'SVA' && p.driverFreed(dom))) f.add({ group: g.id, pasid, handle: h.id, domain: dom.id }, `handle ${h.id} points at freed domain ${dom.id}`);
      if (dom.mm !== undefined && dom.mm.freed) f.add({ group: g.id, pasid, handle: h.id, domain: dom.id }, `domain ${dom.id} points at freed ${name(dom.mm)}`);
    }
  }
  for (const row of world.fds) {
    for (const fd of row) if (fd !== undefined && fd.handle.freed) f.add({ handle: fd.handle.id }, `a caller still holds freed handle ${fd.handle.id}`);
  }
  for (const d of core.sva.mms) if (d.freed || d.mm.freed) f.add({ mm: d.mm.slot }, `iommu_sva_mms holds the freed iommu_mm of ${name(d.mm)}`);

  for (let slot = 0; slot < mms.length; slot++) {
    const mm = mms[slot];
    if (mm === undefined) continue;
    for (const n of mm.notifiers) {
      if (n.freed || !n.hooked || n.mm !== mm || n.users < 1) f.add({ mm: slot }, `${name(mm)}'s notifier list holds a notifier that is ${n.freed ? 'freed' : n.hooked ? `at users ${n.users}` : 'unhooked'}`);
      const c = n.container as { freed?: unknown } | undefined;
      if (c !== undefined && c.freed === true) f.add({ mm: slot }, `${name(mm)}'s notifier list reaches a freed driver domain`);
    }
    if (mm.freed) {
      if (mm.mm_count !== 0 || pins[slot] !== 0) f.add({ mm: slot }, `freed ${name(mm)} has mm_count ${mm.mm_count} and ${pins[slot]} SVA pins`);
      continue;
    }
    const d = mm.iommu_mm;
    if (d !== undefined) {
      if (d.freed) f.add({ mm: slot }, `${name(mm)} reaches its freed iommu_mm`);
      for (const dom of d.sva_domains) if (dom.freed) f.add({ mm: slot, domain: dom.id }, `${name(mm)}'s sva_domains holds freed domain ${dom.id}`);
    }
    const users = mm.exited ? 0 : 1;
    const lazy = world.lazyRef[slot] ? 1 : 0;
    const want = users + lazy + pins[slot]!;
    if (mm.mm_users !== users || mm.mm_count !== want) {
      f.add({ mm: slot }, `${name(mm)}: mm_users ${mm.mm_users}, mm_count ${mm.mm_count}; held: ${users} users, ${lazy} lazy, ${pins[slot]} SVA pins`);
    }
  }
  return f.done();
}

export const noUseAfterFree: Invariant = {
  id: 'I10',
  title: 'No use-after-free, and mm_count equals the references held',
  kernelRule:
    'A domain is freed only at users == 0 after detach everywhere; driver memory only after the SRCU grace period; nothing live points at a freed handle, domain, iommu_mm, notifier or mm_struct; mmgrab/mmdrop balance.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_domain_alloc, iommu_sva_unbind_device; iommu.c: iommu_domain_free; mm/mmu_notifier.c: mmu_notifier_put, mmu_notifier_free_rcu; kernel/fork.c: __mmdrop (v6.17)',
  check,
};
