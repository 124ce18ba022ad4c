import { levelIndex } from '../../src/hw/radix.js';
import { pscFrame } from '../../src/hw/vtd/psc.js';
import type { World } from '../../src/impl/index.js';
import type { Invariant } from '../invariant.js';
import { prefixVpn } from './cpuWalk.js';
import { tableOnPath } from '../../src/hw/radix.js';
import { perPlatform, type Sink } from './platform.js';
import { smmuUnits, walkCacheOf } from './smmuRead.js';
import { pscOf, vtdUnits } from './vtdRead.js';
import { amdUnits } from './amdRead.js';
import { walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';

/**
 * Checks one cached non-leaf entry (level, prefix → frame): when it lies in the shared kernel
 * half, it must be the kernel's current table there; anything else points at a kernel table
 * page that was freed (and may be reused).
 */
function kernelPointer(world: World, unit: string, tag: Record<string, number>, key: number, frame: number, out: Sink): void {
  const level = walkKeyLevel(key);
  const prefix = walkKeyPrefix(key);
  const ks = world.kspace;
  const vpn = prefixVpn(level, prefix);
  if (levelIndex(vpn, world.topology.ptLevels) !== ks.topIndex) return;
  if (tableOnPath(world.kernel.mem, ks.root, ks.rootLevel, vpn, level) === frame) return;
  const mem = world.kernel.mem;
  const state = mem.kind(frame) === 'free' ? 'freed' : `reused as ${mem.kind(frame)} of owner ${mem.owner(frame)}`;
  out.add({ ...tag, level, frame }, `${unit} caches a pointer to kernel table frame ${frame} (level ${level}, vpn 0x${vpn.toString(16)}), now ${state}`);
}

/**
 * I15: before a kernel page-table page is freed for reuse, no IOMMU paging-structure or walk
 * cache of any SVA mm still points at it (CVE-2025-71202, x86). On arm64 the rule is stronger:
 * the SMMU never caches a kernel-half walk at all.
 */
export const kernelPageTables: Invariant = {
  id: 'I15',
  title: 'No cached pointer to a freed kernel page table',
  kernelRule:
    'Freeing a kernel page-table page first runs iommu_sva_invalidate_kva_range so no IOMMU paging-structure cache of an SVA mm still walks through it.',
  source: 'mm/pgtable-generic.c: kernel_pgtable_work_func; drivers/iommu/iommu-sva.c: iommu_sva_invalidate_kva_range (v6.18); CVE-2025-71202, bug B14',
  check: perPlatform('I15', {
    vtd: (ctx, out) => {
      const units = vtdUnits(ctx.world);
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!.unit;
        for (const [tag, m] of pscOf(u)) {
          for (const [key, packed] of m) kernelPointer(ctx.world, u.name, { iommu: i, tag }, key, pscFrame(packed), out);
        }
      }
    },
    // x86 too: the AMD guest walk shares the kernel's top-level entry like VT-d first-level.
    amd: (ctx, out) => {
      const units = amdUnits(ctx.world);
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!.unit;
        for (const [tag, m] of pscOf(u)) {
          for (const [key, packed] of m) kernelPointer(ctx.world, u.name, { iommu: i, tag }, key, pscFrame(packed), out);
        }
      }
    },
    // arm64 keeps the kernel in TTB1 and the SVA CD sets EPD1: an SMMU never walks kernel
    // tables, so any walk-cache entry covering the kernel half is already wrong, freed or not.
    smmuv3: (ctx, out) => {
      const units = smmuUnits(ctx.world);
      const world = ctx.world;
      for (let i = 0; i < units.length; i++) {
        const u = units[i]!.unit;
        for (const [asid, m] of walkCacheOf(u)) {
          for (const [key, frame] of m) {
            const level = walkKeyLevel(key);
            const vpn = prefixVpn(level, walkKeyPrefix(key));
            if (levelIndex(vpn, world.topology.ptLevels) !== world.kspace.topIndex) continue;
            out.add({ iommu: i, asid, level, frame }, `${u.name} walk cache ASID ${asid} holds a kernel-half (TTB1) table pointer (frame ${frame}, level ${level}, vpn 0x${vpn.toString(16)}): SVA CDs set EPD1`);
          }
        }
      }
    },
  }),
};
