/**
 * The allocating xarray the driver keeps its ASIDs in (DEFINE_XARRAY_ALLOC1(arm_smmu_asid_xa)),
 * after lib/xarray.c: xa_alloc hands out the lowest free index in [min, max].
 */
export class XArrayAlloc<T> {
  private readonly slots = new Map<number, T>();

  /**
   * lib/xarray.c: xa_alloc (v6.17). Returns the index, or -EBUSY "if there are no free entries
   * in @limit" (its kernel-doc) -- not -ENOSPC, which only the IDA/PASID allocator returns.
   */
  xa_alloc(entry: T, min: number, max: number): number | 'EBUSY' {
    for (let id = min; id <= max; id++) {
      if (!this.slots.has(id)) {
        this.slots.set(id, entry);
        return id;
      }
    }
    return 'EBUSY';
  }

  /** lib/xarray.c: xa_erase (v6.17). */
  xa_erase(id: number): T | undefined {
    const was = this.slots.get(id);
    this.slots.delete(id);
    return was;
  }

  xa_load(id: number): T | undefined {
    return this.slots.get(id);
  }

  /** How many indices are allocated (for invariants: no allocation on the per-step path). */
  get size(): number {
    return this.slots.size;
  }

  /** Allocated indices, ascending: the leak check's view. */
  indices(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }
}
