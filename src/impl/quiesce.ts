/**
 * The leak check (issue 3, invariants I10/I11 of kernel-sva.md): every SVA object the core
 * allocated must be accounted for by something that still holds it, and once nothing is bound
 * nothing SVA may remain: no domain, handle, pasid_array entry, iommu_sva_mms member, hooked
 * notifier (and, after the grace period, no notifier at all), no PASID beyond those of mms not
 * yet freed, no frames of freed processes, and no driver state (asked through the driver's
 * optional leakCheck hook, so this file stays generic).
 */
import { slotState, type World } from './world.js';
import type { IommuDomain, IommuGroup, IommuMmData, PasidArrayEntry } from './core/types.js';

export type LeakKind = 'domain' | 'handle' | 'pasid_array' | 'pasid' | 'sva_mm' | 'notifier' | 'frame' | 'driver' | 'warn';

export interface Leak {
  readonly kind: LeakKind;
  readonly what: string;
}

/** A pasid_array entry an iommufd HWPT accounts for: its paging or nested domain, attached there. */
export function isHwptEntry(world: World, group: IommuGroup, pasid: number, e: PasidArrayEntry): boolean {
  if (e.kind !== 'domain' || (e.domain.type !== 'PAGING' && e.domain.type !== 'NESTED')) return false;
  for (const h of world.hwpts) if (h.domain === e.domain && h.pasid.get(group) === pasid) return true;
  return false;
}

/** Nothing is bound: no fd holds a handle. */
export function noBonds(world: World): boolean {
  return world.fds.every((row) => row.every((fd) => fd === undefined));
}

/**
 * All leaks and accounting errors of the world now. Valid at any step; the stricter
 * "nothing remains" rules apply once nothing is bound (and, for notifiers, once the SRCU queue
 * is empty, i.e. after a grace period).
 */
export function findLeaks(world: World): Leak[] {
  const out: Leak[] = [];
  const { core, kernel } = world;
  const quiet = noBonds(world);

  // iommu_mm of every mm_struct still in a slot and not freed.
  const liveMmData: IommuMmData[] = [];
  for (const mm of world.mms) if (mm && !mm.freed && mm.iommu_mm && !mm.iommu_mm.freed) liveMmData.push(mm.iommu_mm);

  // Domains: allocated and not freed ⇔ on the sva_domains list of a live iommu_mm.
  const listed = new Set<IommuDomain>();
  for (const d of liveMmData) for (const dom of d.sva_domains) listed.add(dom);
  for (const dom of core.live.domains) {
    if (!listed.has(dom)) out.push({ kind: 'domain', what: `domain ${dom.id} (users ${dom.users}) is on no sva_domains list` });
    else if (quiet) out.push({ kind: 'domain', what: `domain ${dom.id} of mm${dom.mm?.slot} remains with nothing bound` });
  }
  for (const dom of listed) if (dom.freed) out.push({ kind: 'domain', what: `freed domain ${dom.id} still on an sva_domains list` });

  // Handles: allocated and not freed ⇔ held by an fd.
  const held = new Set(world.fds.flatMap((row) => row.flatMap((fd) => (fd ? [fd.handle] : []))));
  for (const h of core.live.handles) if (!held.has(h)) out.push({ kind: 'handle', what: `handle ${h.id} (users ${h.users}) is held by no fd` });
  for (const h of held) if (h.freed) out.push({ kind: 'handle', what: `fd holds freed handle ${h.id}` });

  // pasid_array: only stored handle entries of live handles (none when nothing is bound) and
  // the entries of attached iommufd paging domains.
  for (const g of world.groups) {
    for (const [pasid, e] of g.pasid_array) {
      if (isHwptEntry(world, g, pasid, e)) continue;
      if (e.kind !== 'handle' || e.handle.freed || quiet) out.push({ kind: 'pasid_array', what: `group ${g.id} PASID ${pasid}: ${e.kind} entry remains` });
    }
  }

  // PASIDs: the IDA holds exactly the PASIDs of iommu_mm's not yet dropped.
  const expected = new Set(liveMmData.map((d) => d.pasid));
  for (const p of core.pasidIda) if (!expected.has(p)) out.push({ kind: 'pasid', what: `PASID ${p} allocated but owned by no live mm` });
  for (const p of expected) if (!core.pasidIda.has(p)) out.push({ kind: 'pasid', what: `PASID ${p} of a live mm is not in the IDA` });

  // iommu_sva_mms: exactly the iommu_mm's with SVA domains.
  for (const d of core.sva.mms) if (d.sva_domains.length === 0 || d.freed) out.push({ kind: 'sva_mm', what: `mm${d.mm.slot} on iommu_sva_mms without domains` });
  if (core.sva.present !== core.sva.mms.length > 0) out.push({ kind: 'sva_mm', what: `iommu_sva_present is ${core.sva.present}` });

  // Notifiers: hooked ones belong to live domains' mms; with nothing bound none is hooked, and
  // after the grace period none is left at all.
  for (const n of core.live.notifiers) {
    if (quiet && n.hooked) out.push({ kind: 'notifier', what: `notifier on mm${n.mm.slot} still hooked with nothing bound` });
    else if (quiet && kernel.srcuCallbacks.length === 0) out.push({ kind: 'notifier', what: `notifier on mm${n.mm.slot} (users ${n.users}) never freed` });
  }

  // Frames: a process whose mm_struct is freed (or a slot never used) owns no memory.
  const owners = new Set<number>();
  for (let slot = 0; slot < world.mms.length; slot++) {
    const s = slotState(world, slot);
    if (s === 'unborn' || s === 'freed') owners.add(slot);
  }
  if (owners.size > 0) {
    for (const kind of ['data', 'table'] as const) {
      for (const f of kernel.mem.liveFrames(kind)) {
        // A copy-on-write page is held by every mm that maps it: each must still be alive.
        for (const o of kernel.mem.owners(f)) if (owners.has(o)) out.push({ kind: 'frame', what: `${kind} frame ${f} of freed mm slot ${o}` });
      }
    }
  }

  for (const w of core.warnings) out.push({ kind: 'warn', what: w });
  const hook = world.driver.leakCheck;
  if (hook) for (const what of hook.call(world.driver, world.iommus, world.devices)) out.push({ kind: 'driver', what });
  return out;
}
