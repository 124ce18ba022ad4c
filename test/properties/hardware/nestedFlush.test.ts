import { describe, expect, test } from 'vitest';
import { ordering } from '../../../properties/hardware/ordering.js';
import { invalidationCost } from '../../../properties/hardware/invalidationCost.js';
import { invalidationRanges } from '../../../properties/hardware/invalidationRanges.js';
import { NESTED_HWPT } from '../../../src/shared/index.js';
import { to_dmar_domain } from '../../../src/impl/vtd/dmar.js';
import type { CacheTag } from '../../../src/impl/vtd/cache.js';
import type { IommuDomain } from '../../../src/impl/core/types.js';
import type { IommuUserDataArray } from '../../../src/impl/core/ops.js';
import { bench, ids, type Bench } from './helpers.js';

/** HWPT 2 at PASID 5 of dev0 (ATS), the guest mapping IOVA page 1 to GPA page 2, cached by a DMA. */
const nested = (): Bench => {
  const b = bench('vtd');
  b.run(
    { kind: 'attachPasid', dev: 0, hwpt: NESTED_HWPT, pasid: 5 }, { kind: 'iommuMap', hwpt: 0, page: 2, write: true },
    { kind: 'guestMap', page: 1, gpa: 2, write: true }, { kind: 'dmaIova', dev: 0, hwpt: NESTED_HWPT, page: 1, write: true },
  );
  return b;
};
const invs = [ordering, invalidationCost, invalidationRanges];
const all = (b: Bench) => invs.flatMap((i) => b.check(i));
const parentTags = (b: Bench): CacheTag[] => to_dmar_domain(b.world.hwpts[0]!.domain!).cache_tags;
/** Replace the nested domain's cache_invalidate_user, keeping the real one reachable. */
const wrapInvalidate = (b: Bench, f: (real: NonNullable<IommuDomain['ops']['cache_invalidate_user']>) => NonNullable<IommuDomain['ops']['cache_invalidate_user']>): void => {
  const d = b.world.hwpts[NESTED_HWPT]!.domain! as { ops: IommuDomain['ops'] };
  d.ops = { ...d.ops, cache_invalidate_user: f(d.ops.cache_invalidate_user!) };
};

describe('I7, I12, I14 on the flushes that reach nested entries (VT-d)', () => {
  test('hold on the guest\'s unmap and on the host\'s unmap from the parent (also with the parent attached itself)', () => {
    const b = nested();
    b.run({ kind: 'guestUnmap', page: 1 });
    expect(all(b)).toEqual([]);
    const c = nested();
    c.run({ kind: 'attachPasid', dev: 1, hwpt: 0, pasid: 6 }, { kind: 'iommuUnmap', hwpt: 0, page: 2 });
    expect(all(c)).toEqual([]);
  });

  test('I14 fires when the guest\'s request is dropped, I12 when it is widened to the whole PASID', () => {
    const b = nested();
    wrapInvalidate(b, () => function* () { return 0 as const; });
    b.run({ kind: 'guestUnmap', page: 1 });
    expect(ids(all(b))).toEqual(['I12', 'I14']);
    const c = nested();
    wrapInvalidate(c, (real) => function* (domain, array: IommuUserDataArray) {
      return yield* real(domain, { ...array, entries: [{ addr: 0n, npages: (1n << 64n) - 1n, flags: 0 }] });
    });
    c.run({ kind: 'guestUnmap', page: 1 });
    const v = all(c);
    expect(ids(v)).toEqual(['I12']);
    // npages U64_MAX from 0 ends at 2^64 - 4097 (nrpages_to_size wraps), not ULONG_MAX: a 2^52-page block.
    expect(v[0]!.message).toContain('a 2^52-page P_IOTLB');
  });

  test('I14 fires when the parent\'s flush misses its nested users, or flushes their device TLB by the GPA range', () => {
    const b = nested();
    parentTags(b).splice(0);
    b.run({ kind: 'iommuUnmap', hwpt: 0, page: 2 });
    expect(b.check(invalidationRanges).map((x) => x.message)).toEqual([expect.stringContaining('no IOTLB DSI/PSI of nested DID')]);
    const c = nested();
    for (const t of parentTags(c)) if (t.type === 'NESTING_DEVTLB') (t as { type: CacheTag['type'] }).type = 'DEVTLB';
    c.run({ kind: 'iommuUnmap', hwpt: 0, page: 2 });
    expect(c.check(invalidationRanges).map((x) => x.message)).toEqual([expect.stringContaining('no whole device-TLB invalidation')]);
  });

  test('I7 fires when a nested user\'s device TLB is flushed before the IOTLB entries of its own DID, even after another DID\'s', () => {
    const b = nested();
    b.run({ kind: 'attachPasid', dev: 1, hwpt: 0, pasid: 6 });
    // [NESTING_IOTLB, NESTING_DEVTLB, IOTLB, DEVTLB] → the parent's own IOTLB tag first, the nested pair swapped.
    const tags = parentTags(b);
    const [ni, nd, own, od] = [tags[0]!, tags[1]!, tags[2]!, tags[3]!];
    expect([ni.type, nd.type, own.type, od.type]).toEqual(['NESTING_IOTLB', 'NESTING_DEVTLB', 'IOTLB', 'DEVTLB']);
    tags.splice(0, 4, own, nd, ni, od);
    b.run({ kind: 'iommuUnmap', hwpt: 0, page: 2 });
    // The generic rule accepts any second-stage IOTLB invalidation before it (here the parent's own DID's).
    expect(b.check(ordering).map((x) => x.message)).toEqual([
      expect.stringMatching(/device-TLB invalidation of dev0 PASID 5 before any IOTLB invalidation of its nested DID/),
    ]);
  });
});
