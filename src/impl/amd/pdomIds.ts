/**
 * The driver's globals, one per world (file-scope statics in C): the protection-domain ID
 * allocator pdom_ids (drivers/iommu/amd/iommu.c: amd_iommu_pdom_id_alloc/free, v6.19-rc) and
 * amd_iommu_max_glx_val (init.c: the smallest GLXSup of all IOMMUs).
 */
import type { Kernel } from '../core/types.js';

interface AmdGlobals {
  readonly ids: Set<number>;
  /** MAX_DOMAIN_ID: 2^16 in the kernel; the topology's didBits here, so exhaustion is reachable. */
  readonly max: number;
}

const globals = new WeakMap<Kernel, AmdGlobals>();

function globalsOf(kernel: Kernel): AmdGlobals {
  let g = globals.get(kernel);
  if (g === undefined) {
    const bits = Math.min(...kernel.topology.iommus.map((u) => u.didBits));
    globals.set(kernel, (g = { ids: new Set(), max: 2 ** bits }));
  }
  return g;
}

/** amd_iommu_pdom_id_alloc (v6.19-rc): ida_alloc_range(&pdom_ids, 1, MAX_DOMAIN_ID - 1); -ENOSPC as -1. */
export function amd_iommu_pdom_id_alloc(kernel: Kernel): number {
  const g = globalsOf(kernel);
  for (let id = 1; id < g.max; id++) {
    if (!g.ids.has(id)) {
      g.ids.add(id);
      return id;
    }
  }
  return -1;
}

/** amd_iommu_pdom_id_free (v6.19-rc). */
export function amd_iommu_pdom_id_free(kernel: Kernel, id: number): void {
  globalsOf(kernel).ids.delete(id);
}

/** Whether `id` is allocated (for invariants: no allocation on the per-step path). */
export const pdom_id_allocated = (kernel: Kernel, id: number): boolean => globalsOf(kernel).ids.has(id);

/** How many protection-domain IDs are allocated (for invariants: no allocation on the per-step path). */
export const pdom_id_count = (kernel: Kernel): number => globalsOf(kernel).ids.size;

/** The allocated protection-domain IDs, ascending (for invariants). */
export const pdom_ids = (kernel: Kernel): number[] => [...globalsOf(kernel).ids].sort((a, b) => a - b);

/**
 * amd_iommu_max_glx_val: GLXSup = 1 (two-level GCR3 tables, 2^18 PASIDs) on every IOMMU; a
 * wider PASID space needs GLX 2, which setup_gcr3_table refuses with -EINVAL.
 */
export const amd_iommu_max_glx_val = (_kernel: Kernel): number => 1;

/** The IDs allocated, ascending: driver state outside the world graph (the explorer reads it). */
export function amd_pdom_ids(kernel: Kernel): number[] {
  return [...globalsOf(kernel).ids].sort((a, b) => a - b);
}
