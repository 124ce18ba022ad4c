/**
 * Symmetry reduction by first use (the "fresh id" reduction of symmetric model checking):
 * two objects of one class that no command has named yet are interchangeable, so among the
 * commands that name a fresh object only those naming the lowest fresh id of its class are
 * explored; the others lead to mirror images of the same subtrees.
 *
 * Classes. mm slots: all slots (every slot of a topology has the same pages and starts
 * unborn). Devices: devices alone in their group, behind the same IOMMU, with the same PASID
 * width, ATS and PRI; a device sharing its group is in a class of its own (group siblings
 * see each other's attachments). Pages are never interchangeable: a page's virtual address
 * decides its page-table neighbours and the alignment the invalidation ranges and their cost
 * follow (I12, I14), so page 0 and page 1 are different pages to the kernel.
 *
 * Soundness rests on the impl treating ids alike (as TLC's SYMMETRY sets rest on the spec):
 * an id appears only as a name, or as an index whose order matters only among objects that
 * exist. test/explore checks it empirically: with and without the reduction the same faults
 * are found at the same depths.
 */
import type { Command, Topology } from '../shared/index.js';

export interface Symmetry {
  /** Class number of each mm slot and each device; -1 = alone in its class. */
  readonly mmClass: readonly number[];
  readonly devClass: readonly number[];
}

export const NO_SYMMETRY = (t: Topology): Symmetry => ({
  mmClass: Array.from({ length: t.mms }, () => -1),
  devClass: t.devices.map(() => -1),
});

export const symmetryOf = (t: Topology): Symmetry => {
  const keys: string[] = [];
  const devClass = t.devices.map((d) => {
    const alone = t.devices.filter((o) => o.group === d.group).length === 1;
    if (!alone) return -1;
    const key = `${d.iommu}/${d.pasidBits}/${d.ats}/${d.pri}`;
    let c = keys.indexOf(key);
    if (c < 0) c = keys.push(key) - 1;
    return c;
  });
  return { mmClass: Array.from({ length: t.mms }, () => 0), devClass };
};

/** Which ids the path has named so far (bit sets: at most 8 mm slots and 16 devices). */
export interface Used {
  readonly mms: number;
  readonly devs: number;
}

export const NONE_USED: Used = { mms: 0, devs: 0 };

const mmsOf = (c: Command): number => {
  switch (c.kind) {
    case 'fork':
      return (1 << c.mm) | (1 << c.child);
    case 'prg':
      // A group on the RID names no mm (the generators give it mm 0, unused).
      return c.rid ? 0 : 1 << c.mm;
    case 'bind': case 'unbind': case 'mmap': case 'touch': case 'munmap': case 'mprotect': case 'dma':
    case 'prefetch': case 'prefetchKernel': case 'exit': case 'mmdrop': case 'spawn': case 'migrate': case 'stopMarker':
      return 1 << c.mm;
    case 'gracePeriod': case 'serviceFaults': case 'vmalloc': case 'vfree': case 'failNext': case 'failNth': case 'unplug':
    case 'attachPasid': case 'replacePasid': case 'detachPasid': case 'iommuMap': case 'iommuUnmap': case 'dmaIova': case 'dmaPasid':
    case 'guestMap': case 'guestUnmap': case 'destroyHwpt':
      return 0;
  }
};

const devsOf = (c: Command): number => {
  switch (c.kind) {
    case 'bind': case 'unbind': case 'dma': case 'prefetch': case 'prefetchKernel': case 'unplug': case 'prg': case 'stopMarker':
    case 'attachPasid': case 'replacePasid': case 'detachPasid': case 'dmaIova': case 'dmaPasid':
      return 1 << c.dev;
    case 'mmap': case 'touch': case 'munmap': case 'mprotect': case 'exit': case 'mmdrop': case 'spawn':
    case 'fork': case 'gracePeriod': case 'serviceFaults': case 'vmalloc': case 'vfree': case 'failNext': case 'failNth':
    case 'iommuMap': case 'iommuUnmap': case 'migrate': case 'guestMap': case 'guestUnmap': case 'destroyHwpt':
      return 0;
  }
};

export const afterCommand = (u: Used, c: Command): Used => ({ mms: u.mms | mmsOf(c), devs: u.devs | devsOf(c) });

/** Every fresh id in `named` is the lowest fresh id of its class. */
const lowestFresh = (named: number, used: number, classes: readonly number[]): boolean => {
  for (let id = 0; id < classes.length; id++) {
    if ((named & (1 << id)) === 0 || (used & (1 << id)) !== 0 || classes[id]! < 0) continue;
    for (let lower = 0; lower < id; lower++) {
      // A lower fresh id of the same class not named by this command: a mirror image.
      if (classes[lower] === classes[id] && (used & (1 << lower)) === 0 && (named & (1 << lower)) === 0) return false;
    }
  }
  return true;
};

/** The command is the representative of its mirror images in a state whose path used `u`. */
export const representative = (sym: Symmetry, u: Used, c: Command): boolean =>
  lowestFresh(mmsOf(c), u.mms, sym.mmClass) && lowestFresh(devsOf(c), u.devs, sym.devClass);
