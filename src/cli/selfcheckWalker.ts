import { Counters } from '../hw/counters.js';
import type { PciDevice } from '../hw/device.js';
import type { IommuUnit, Translation } from '../hw/iommu.js';
import { PTE_P, PTE_U, PTE_W, type PhysMem, pteFrame } from '../hw/mem.js';
import { levelIndex } from '../hw/radix.js';

/**
 * A hardware page walk over the CPU tables as an IOMMU does it: through `PhysMem.hwEntry`,
 * which reads whatever the frame holds and logs a walk through a freed or non-table frame.
 * Starts at `table`, a table of level `level` (the pgd, or a cached lower-level pointer).
 * Returns the leaf entry, 0 when a level is not present.
 */
export const hwWalk = (mem: PhysMem, table: number, level: number, vpn: number, by: string): number => {
  let t = table;
  for (let l = level; l > 1; l--) {
    const e = mem.hwEntry(t, levelIndex(vpn, l), by);
    if ((e & PTE_P) === 0) return 0;
    t = pteFrame(e);
  }
  return mem.hwEntry(t, levelIndex(vpn, 1), by);
};

/**
 * The smallest IOMMU that satisfies the IommuUnit contract: PASID → pgd, no caches of its own,
 * user-permission and write checks at the leaf. Enough for the self-check to drive a PciDevice
 * and its ATC before the VT-d and SMMUv3 models exist.
 */
export class WalkOnlyIommu implements IommuUnit {
  readonly name = 'walk0';
  readonly counters = new Counters();
  private readonly pgds = new Map<number, number>();

  constructor(private readonly mem: PhysMem, private readonly levels: 4 | 5) {}

  setPasid(pasid: number, pgd: number | undefined): void {
    if (pgd === undefined) this.pgds.delete(pasid);
    else this.pgds.set(pasid, pgd);
  }

  translate(_dev: PciDevice, pasid: number, vpn: number, write: boolean): Translation {
    const pgd = this.pgds.get(pasid);
    if (pgd === undefined) return { ok: false, fault: 'no-pasid-entry' };
    const e = hwWalk(this.mem, pgd, this.levels, vpn, this.name);
    if ((e & PTE_P) === 0) return { ok: false, fault: 'not-present' };
    if ((e & PTE_U) === 0 || (write && (e & PTE_W) === 0)) return { ok: false, fault: 'no-permission' };
    return { ok: true, frame: pteFrame(e), write: (e & PTE_W) !== 0 };
  }
}

/** The frame of the level-`level` table on vpn's path (a software read), or undefined. */
export const tableOnPath = (mem: PhysMem, root: number, rootLevel: number, vpn: number, level: number): number | undefined => {
  let t = root;
  for (let l = rootLevel; l > level; l--) {
    const e = mem.entry(t, levelIndex(vpn, l));
    if ((e & PTE_P) === 0) return undefined;
    t = pteFrame(e);
  }
  return t;
};
