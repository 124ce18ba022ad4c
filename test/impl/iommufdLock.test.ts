import { describe, expect, test } from 'vitest';
import { exploreGroup } from '../../src/harness/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * iommufd serialises a group's attach, replace and detach under &igroup->lock
 * (iommufd_device_change_pt). Without it here, two attaches of one HWPT at PASID 8 of one
 * group ran interleaved: one saw the other's pasid_array reservation (EBUSY) where every order
 * gives both attaches the same -EINVAL (a LIN of run --groups 0.15 on SMMUv3, seed 4247).
 */
const t: Topology = {
  platform: 'smmuv3', iommus: [{ pasidBits: 2, didBits: 16, asidBits: 2, rangeInv: false, prqSize: 16 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false }], mms: 2, pages: 1, kpages: 0, ptLevels: 4,
};
const PREFIX: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'spawn', mm: 1 }, { kind: 'bind', dev: 0, mm: 1 }, { kind: 'bind', dev: 0, mm: 0 }];
const ATTACH: Command = { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 8 };

describe('&igroup->lock', () => {
  test('two attaches of one HWPT to one group, with a DMA beside them: every schedule with one preemption is linearizable', () => {
    const r = exploreGroup(t, PREFIX, [ATTACH, { kind: 'dma', dev: 0, mm: 0, page: 0, write: true }, ATTACH], 1, 5_000);
    expect(r).toMatchObject({ complete: true, found: undefined, invariant: undefined });
    expect(r.schedules).toBeGreaterThan(10);
  });
});

describe("the VMM's one IOMMU_HWPT_ALLOC", () => {
  // Two groups: &igroup->lock does not order them. Both attaches found the nested HWPT
  // unallocated and each allocated a domain; one was lost (I11 of run --groups 0.15 on VT-d,
  // seed 4287: a pasid_array entry nothing accounts for).
  const vtd: Topology = {
    platform: 'vtd',
    iommus: [{ pasidBits: 4, didBits: 16, asidBits: 2, rangeInv: true, prqSize: 16 }, { pasidBits: 3, didBits: 16, asidBits: 2, rangeInv: false, prqSize: 16 }],
    devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false }, { iommu: 1, group: 1, pasidBits: 0, ats: false, pri: false }],
    mms: 1, pages: 1, kpages: 0, ptLevels: 4,
  };
  test('two groups attach the nested HWPT at once: it is allocated once, under every schedule with one preemption', () => {
    const r = exploreGroup(vtd, [], [{ kind: 'attachPasid', dev: 0, hwpt: 2, pasid: 2 }, { kind: 'attachPasid', dev: 1, hwpt: 2, pasid: 1 }], 1, 5_000);
    expect(r).toMatchObject({ complete: true, found: undefined, invariant: undefined });
    expect(r.schedules).toBeGreaterThan(10);
  });
});
