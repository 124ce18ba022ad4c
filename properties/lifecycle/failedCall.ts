/**
 * I-FAIL A failed call leaves nothing behind: after a bind that returned an errno, no object it
 * created is still alive, every refcount it raised is back, and no hardware entry it wrote is
 * still present or cached. This is what every `goto err_*` ladder of the bind path owes its
 * caller (iommu-sva.c: out_free_domain / out_free_handle; iommu.c: __iommu_set_group_pasid's
 * revert; the drivers' set_dev_pasid unwinds), and what the iommufd selftest checks by running
 * each ioctl under fail_nth.
 *
 * The kernel documents what stays, and it is left out of the comparison: the mm's iommu_mm
 * and PASID (iommu_alloc_mm_data is never undone; freed at __mmdrop), the mm's
 * notifier_subscriptions, a discarded domain's notifier with the mm_count it holds until the
 * SRCU grace period (mmu_notifier_put defers free_notifier and its mmdrop), and the memory a
 * driver keeps for the device or domain's life (VT-d PASID-table leaves and the domain's
 * qi_batch, SMMUv3 CD tables and leaves).
 *
 * An iommufd attach or replace (PASID or RID) that fails owes the same, and also keeps what it
 * found: the entries at its PASID are those from before the call (a failed replace leaves the
 * old domain attached, as iommufd_device_replace documents).
 *
 * The step records the footprint before every bind, attach and replace (StepProbe.before); the
 * check compares it with the one after the failed call.
 */
import type { World } from '../../src/impl/index.js';
import type { Command } from '../../src/shared/index.js';
import type { CheckContext, Invariant, Violation } from '../invariant.js';
import type { FailFootprint } from '../probe.js';
import { platformOf } from './platform/index.js';
import { NO_VIOLATIONS } from './scan.js';

/**
 * Kernel objects and refcounts (PASID-independent), one line each in a fixed order. Built
 * with plain concatenation, no intermediate arrays: it runs before every bind (the step's
 * StepProbe.before), so it is on the hot path; the lines are those of the map/join form.
 */
function objects(world: World): string[] {
  const { core } = world;
  const out: string[] = [];
  let line = 'domains ';
  let sep = '';
  for (const d of core.live.domains) {
    line += sep + d.id + 'x' + d.users;
    sep = ',';
  }
  out.push(line);
  line = 'handles ';
  sep = '';
  for (const h of core.live.handles) {
    line += sep + h.id + 'x' + h.users;
    sep = ',';
  }
  out.push(line);
  // A put notifier (unhooked) waits for the grace period, holding one mm_count.
  line = 'notifiers ';
  sep = '';
  let unhooked = 0;
  for (const n of core.live.notifiers) {
    if (n.hooked) {
      line += sep + n.users;
      sep = ',';
    } else unhooked++;
  }
  out.push(line);
  line = 'iommu_sva_mms ';
  sep = '';
  for (const m of core.sva.mms) {
    line += sep + m.pasid;
    sep = ',';
  }
  out.push(line + ' present ' + core.sva.present);
  line = 'mm_count ';
  sep = '';
  for (const mm of world.mms) {
    let deferred = 0;
    if (mm !== undefined && unhooked > 0) for (const n of core.live.notifiers) if (!n.hooked && n.mm === mm) deferred++;
    line += sep + (mm === undefined ? '-' : `${mm.mm_count - deferred}`);
    sep = ',';
  }
  out.push(line);
  pasidArrays(world, out);
  platformOf(world).footprint(world, out);
  return out;
}

/** One line per group: its pasid_array slots and what each holds. */
function pasidArrays(world: World, out: string[] = []): string[] {
  for (const g of world.groups) {
    let line = 'group ' + g.id + ' pasid_array ';
    let sep = '';
    for (const [p, e] of g.pasid_array) {
      line += sep + p + ':' + e.kind;
      sep = ',';
    }
    out.push(line);
  }
  return out;
}

/**
 * The hardware entries at the mm's PASID, when it has one; else at every PASID a group's
 * pasid_array holds. The bind's PASID comes from the global ida, but an iommufd paging domain
 * attached at a PASID of its own choosing (another group's slot) may sit at the same number:
 * its entries were there before the bind and are not the bind's.
 */
function entries(world: World, pasid: number | undefined): string[] {
  const out: string[] = [];
  const platform = platformOf(world);
  if (pasid !== undefined) {
    platform.entriesAt(world, pasid, out);
    return out;
  }
  const held = new Set<number>();
  for (const g of world.groups) for (const p of g.pasid_array.keys()) held.add(p);
  for (const p of [...held].sort((a, b) => a - b)) platform.entriesAt(world, p, out);
  return out;
}

const pasidOf = (world: World, slot: number): number | undefined => {
  const mm = world.mms[slot];
  return mm === undefined || mm.freed ? undefined : mm.iommu_mm?.pasid;
};

/** The footprint of `world` as a bind of `slot`'s mm is about to run. */
export function failFootprint(world: World, slot: number): FailFootprint {
  const pasid = pasidOf(world, slot);
  const fp = { objects: objects(world), pasid, entries: entries(world, pasid) };
  if (pasid !== undefined) return fp;
  const next = nextGlobalPasid(world);
  const at: string[] = [];
  platformOf(world).entriesAt(world, next, at);
  return { ...fp, next: { pasid: next, entries: at } };
}

/** The id ida_alloc_range hands out next from the global PASID ida (iommu_alloc_global_pasid's range starts at 1). */
const nextGlobalPasid = (world: World): number => {
  const ida = world.core.pasidIda;
  let id = 1;
  while (ida.has(id)) id++;
  return id;
};

/** Lines of `after` that `before` lacks: what the call left in hardware (a flush may drop entries). */
function added(before: readonly string[], after: readonly string[]): string[] {
  return after.filter((e) => !before.includes(e)).slice(0, 3).map((e) => `${e} (new)`);
}

/** The first lines where `a` and `b` differ, as "before → after". */
function differences(a: readonly string[], b: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < 3; i++) {
    if (a[i] !== b[i]) out.push(`${a[i] ?? '(none)'} → ${b[i] ?? '(none)'}`);
  }
  return out;
}

/**
 * The footprint of `world` as an iommufd attach or replace is about to run: the groups'
 * pasid_arrays, and the hardware entries at the PASID it works on (the attach's, or the one
 * `from` holds; 0 is the RID's). Of objects() only the pasid_array lines: the HWPT's domain (and
 * an SMMUv3 ASID) that its first use allocated stays either way, standing in for the VMM's
 * IOMMU_HWPT_ALLOC, which succeeded before the attach.
 */
export function iommufdFootprint(world: World, cmd: Command & { kind: 'attachPasid' | 'replacePasid' }): FailFootprint {
  const pasid = cmd.kind === 'attachPasid' ? cmd.pasid : world.hwpts[cmd.from]!.pasid.get(world.devices[cmd.dev]!.group);
  return { objects: pasidArrays(world), pasid, entries: pasid === undefined ? [] : entries(world, pasid) };
}

/**
 * A failed iommufd attach or replace leaves the PASID as it found it: the same objects, and the
 * same entries at the PASID, none new and none gone (a failed replace keeps the old domain's).
 */
function checkIommufd(cmd: Command & { kind: 'attachPasid' | 'replacePasid' }, errno: string, world: World, before: FailFootprint): readonly Violation[] {
  const after = before.pasid === undefined ? [] : entries(world, before.pasid);
  const diff = [...differences(before.objects, pasidArrays(world)), ...differences(before.entries, after)];
  if (diff.length === 0) return NO_VIOLATIONS;
  const objs: Record<string, number> = { dev: cmd.dev, hwpt: cmd.hwpt };
  if (before.pasid !== undefined) objs.pasid = before.pasid;
  return [{ invariant: 'I-FAIL', objects: objs, message: `${cmd.kind}(dev${cmd.dev}, hwpt ${cmd.hwpt}) failed with ${errno} but changed: ${diff.join('; ')}` }];
}

function check({ cmd, actual, world, probe }: CheckContext): readonly Violation[] {
  if (actual.ok) return NO_VIOLATIONS;
  const before = probe.before;
  if (before === undefined) return NO_VIOLATIONS;
  if (cmd.kind === 'attachPasid' || cmd.kind === 'replacePasid') return checkIommufd(cmd, actual.errno, world, before);
  if (cmd.kind !== 'bind') return NO_VIOLATIONS;
  const after = failFootprint(world, cmd.mm);
  // A PASID this bind allocated was free in the global ida before, yet entries may sit at it:
  // an iommufd attachment's (the before footprint lists those), or one a kernel bug left
  // behind at a freed PASID (smmuv3-release-vs-detach-cd's quiet CD). Neither is this call's.
  const next = before.next;
  const was = before.pasid === after.pasid ? before.entries
    : next !== undefined && next.pasid === after.pasid ? [...before.entries, ...next.entries]
    : before.pasid === undefined ? before.entries : [];
  const diff = [...differences(before.objects, after.objects), ...added(was, after.entries)];
  if (diff.length === 0) return NO_VIOLATIONS;
  const objs: Record<string, number> = { dev: cmd.dev, mm: cmd.mm };
  if (after.pasid !== undefined) objs.pasid = after.pasid;
  return [{
    invariant: 'I-FAIL',
    objects: objs,
    message: `bind(dev${cmd.dev}, mm${cmd.mm}) failed with ${actual.errno} but left behind: ${diff.join('; ')}`,
  }];
}

export const failedCall: Invariant = {
  id: 'I-FAIL',
  title: 'A failed call leaves nothing behind',
  kernelRule: 'A bind that returns an errno has freed every object it allocated, dropped every reference it took and removed every hardware entry it wrote (iommu_mm and its PASID excepted: kept until __mmdrop). An iommufd attach or replace that returns an errno leaves its PASID (or the RID) with the entries it had: iommufd_device_replace "If it fails then no change is made".',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_bind_device; iommu.c: iommu_attach_device_pasid, __iommu_set_group_pasid, __iommu_group_set_domain_internal; iommufd/device.c: iommufd_device_replace; intel/svm.c: intel_svm_set_dev_pasid; arm-smmu-v3.c: arm_smmu_set_pasid (v7.0-rc5)',
  check,
};
