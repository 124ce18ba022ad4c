/**
 * A deliberately broken driver for tests: the platform's real driver, except that the mmu
 * notifier it registers for each SVA domain forgets arch_invalidate_secondary_tlbs. munmap
 * and mprotect then leave IOTLB and ATC entries behind: the stale-translation bug class of
 * kernel-sva.md §6, made visible as a DMA that reads a page the mm no longer maps.
 */
import type { IommuDomain, IommuDriver, IommuOps, MmuNotifierOps } from '../../src/impl/index.js';

const forgetful = (ops: MmuNotifierOps): MmuNotifierOps => ({ ...ops, arch_invalidate_secondary_tlbs: function* () {} });

/** Only the whole-address-space flush (0, ULONG_MAX) is dropped; ranged ones still go out. */
const ULONG_MAX = (1n << 64n) - 1n;
const wholeRangeForgetful = (ops: MmuNotifierOps): MmuNotifierOps => ({
  ...ops,
  *arch_invalidate_secondary_tlbs(sub, mm, start, end) {
    if (start === 0n && end === ULONG_MAX) return;
    yield* ops.arch_invalidate_secondary_tlbs(sub, mm, start, end);
  },
});

export const withoutSecondaryTlbFlush = (real: IommuDriver): IommuDriver => notifierWrapped(real, forgetful);

/** The driver's SVA notifier ignores whole-range flushes (x86's batched unmap, flush_tlb_mm). */
export const withoutWholeRangeFlush = (real: IommuDriver): IommuDriver => notifierWrapped(real, wholeRangeForgetful);

const notifierWrapped = (real: IommuDriver, forget: (ops: MmuNotifierOps) => MmuNotifierOps): IommuDriver => {
  // One wrapped table per real one: every IOMMU of a driver shares its ops (intel_iommu_ops),
  // and reusing a domain across IOMMUs depends on that identity (domain->owner).
  const wrapped = new Map<IommuOps, IommuOps>();
  const wrap = (inner: IommuOps): IommuOps => {
    const known = wrapped.get(inner);
    if (known !== undefined) return known;
    const ops: IommuOps = {
      ...inner,
      *domain_alloc_sva(dev, mm) {
        const r = yield* inner.domain_alloc_sva(dev, mm);
        if (r.ok) {
          (r.value as { owner: IommuOps } & IommuDomain).owner = ops;
          // domain_alloc_sva just registered its notifier: the newest on the mm's list.
          const n = mm.notifiers[0]!;
          (n as { ops: MmuNotifierOps }).ops = forget(n.ops);
        }
        return r;
      },
    };
    const paging = inner.domain_alloc_paging_flags;
    if (paging !== undefined) {
      // Paging domains keep their flushes; only their owner follows the wrapped table.
      ops.domain_alloc_paging_flags = function* (dev, flags) {
        const r = yield* paging(dev, flags);
        if (r.ok) (r.value as { owner: IommuOps } & IommuDomain).owner = ops;
        return r;
      };
    }
    wrapped.set(inner, ops);
    return ops;
  };
  return {
    ...real,
    probeIommu(ctx, index) {
      const iommu = real.probeIommu(ctx, index);
      return { ...iommu, ops: wrap(iommu.ops) };
    },
    probeDevice: (ctx, dev) => real.probeDevice(ctx, dev),
  };
};
