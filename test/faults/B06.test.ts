import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * B06 (8798d3641119): intel_pasid_tear_down_entry always sent a PASID-based IOTLB flush, but a
 * second-level or nested PASID entry caches translations by DID and needs a domain-selective
 * flush. The old branch is ported (src/impl/vtd/pasid.ts), but no command can reach it: SVA only
 * ever programs first-level entries, and the harness models no paging domain (IOVA page tables,
 * per-IOMMU DIDs, iommufd's PASID attach, second-stage walks and their spec). With a first-level
 * entry the old and the new teardown send the same descriptors.
 */
const t = defaultTopology('vtd');
const TEARDOWN: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
  { kind: 'unbind', dev: 0, mm: 0 },
];

const descriptors = (fault: 'B06' | undefined): Record<string, number> => {
  const s = openSession(t, fault === undefined ? {} : { fault });
  for (const c of TEARDOWN) expect(checkedStep(s, c)).toEqual([]);
  return s.world.iommus[0]!.unit.counters.snapshot();
};

describe('B06: teardown always P_IOTLB, even for second-level/nested entries (8798d3641119): not reachable through SVA', () => {
  test('Tearing down a first-level (SVA) entry sends the same descriptors with and without the fault', () => {
    const old = descriptors('B06');
    expect(old['qi.piotlb']).toBeGreaterThan(0);
    expect(old['qi.iotlb_dsi'] ?? 0).toBe(0);
    expect(old).toEqual(descriptors(undefined));
  });

  test('The generators therefore cannot find it', () => {
    const f = findFault('B06', { platform: 'vtd', seed: 1, runs: 40 });
    expect(f.found).toBe(false);
  });
});
