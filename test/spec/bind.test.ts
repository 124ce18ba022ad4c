import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import { abstractView, bindPointsBegin, bindPointsEnd, initSpec, linPoints, specPoint } from '../../src/spec/index.js';
import { bind, dma, run, spawn, topo, unbind } from './helpers.js';

describe('bind and unbind follow iommu-sva.c', () => {
  test('in a group with a grace period or an mmdrop, a bind of an mm without a PASID takes it at a point of its own', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    const b = bind(0, 0);
    const grace = [b, { kind: 'gracePeriod' }] as const;
    expect(linPoints(s, b, 2, grace)).toBe(2);
    expect(linPoints(s, b, 2, [b, { kind: 'mmdrop', mm: 0 }])).toBe(2);
    expect(linPoints(s, b, 2, [b, { kind: 'touch', mm: 0, page: 0, write: false }])).toBe(1);
    bindPointsBegin(s, grace);
    expect(specPoint(s, b, 0, 2)).toBeUndefined();
    // The PASID is the mm's already; nothing is attached yet.
    expect(abstractView(s).slots[0]!.pasid).toBe(1);
    expect(abstractView(s).handles).toEqual([]);
    expect(specPoint(s, b, 1, 2)).toEqual({ ok: true, value: 1 });
    bindPointsEnd(s);
    expect(abstractView(s).handles).toEqual([{ mm: 0, group: 0, users: 1 }]);
    // With its PASID taken, a later group's bind has no such point.
    const later = bind(1, 0);
    expect(linPoints(s, later, 2, [later, { kind: 'gracePeriod' }])).toBe(linPoints(s, later, 2, [later, { kind: 'touch', mm: 0, page: 0, write: false }]));
  });

  test('in a group, a bind that tries the mm\'s domains first allocates at a second point, where the PASID may be taken meanwhile', () => {
    // dev0 on SMMU 0 made mm0's domain; dev1, on SMMU 1, cannot use it (arm_smmu_set_pasid: -EINVAL).
    const s = initSpec(topo('smmuv3', [{}, {}], [[0, {}], [1, {}]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    const second = bind(1, 0);
    expect([linPoints(s, second), linPoints(s, second, 2)]).toEqual([1, 2]);
    expect(specPoint(s, second, 0, 2)).toBeUndefined();
    // An iommufd attach of dev1's group at the mm's PASID between the attempts and the allocation.
    run(s, { kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 1 });
    expect(specPoint(s, second, 1, 2)).toEqual({ ok: false, errno: 'EBUSY' });
    expect(abstractView(s).domains).toHaveLength(1);
    // Alone, the two points are the one step: the attempt fails, the new domain attaches.
    const alone = initSpec(topo('smmuv3', [{}, {}], [[0, {}], [1, {}]]));
    run(alone, spawn(0));
    run(alone, bind(0, 0));
    expect(run(alone, bind(1, 0))).toEqual({ ok: true, value: 1 });
    expect(abstractView(alone).domains).toHaveLength(2);
  });

  test('in a group, a PRI device\'s last unbind first stops its use of the PASID: an access between still translates', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { pri: true }]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    // An open group of two requests holds both PRI credits.
    run(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, rid: false, last: false });
    expect(run(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'no PRI credit' });
    const u = unbind(0, 0);
    expect([linPoints(s, u), linPoints(s, u, 2)]).toEqual([1, 3]);
    expect(specPoint(s, u, 0, 3)).toBeUndefined();
    // The open group was abandoned (credits back); the entry is still present: a new request goes out.
    expect(run(s, dma(0, 0, 0, false))).toEqual({ ok: true });
    expect(specPoint(s, u, 1, 3)).toBeUndefined();
    expect(specPoint(s, u, 2, 3)).toEqual({ ok: true });
    expect(run(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
  });

  test('a second bind of the same pair shares the handle and the PASID', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
    const v = abstractView(s);
    expect(v.handles).toEqual([{ mm: 0, group: 0, users: 2 }]);
    expect(v.bonds).toEqual([{ dev: 0, mm: 0, n: 2 }]);
    expect(v.domains).toEqual([{ mm: 0, groups: [0], iommus: [0], users: 1, asid: null }]);
    run(s, unbind(0, 0));
    expect(abstractView(s).handles).toEqual([{ mm: 0, group: 0, users: 1 }]);
    expect(abstractView(s).domains).toHaveLength(1);
  });

  test('PASID exhaustion gives ENOSPC and leaves the state unchanged', () => {
    // IOMMU PASID width 1: max_pasids 2, so only PASID 1 exists.
    const s = initSpec(topo('vtd', [{ pasidBits: 1 }], [[0, {}]]));
    run(s, spawn(0));
    run(s, spawn(1));
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
    const before = abstractView(s);
    expect(run(s, bind(0, 1))).toEqual({ ok: false, errno: 'ENOSPC' });
    expect(abstractView(s)).toEqual(before);
  });

  test('a device without PASID gets ENOSPC on a first bind and EOVERFLOW once the mm has one', () => {
    const s = initSpec(topo('vtd', [{}], [[0, {}], [0, { pasidBits: 0 }]]));
    run(s, spawn(0));
    run(s, spawn(1));
    expect(run(s, bind(1, 0))).toEqual({ ok: false, errno: 'ENOSPC' });
    expect(abstractView(s).slots[0]!.pasid).toBeNull();
    run(s, bind(0, 1));
    expect(run(s, bind(1, 1))).toEqual({ ok: false, errno: 'EOVERFLOW' });
  });

  test('an existing PASID beyond the device range gives EOVERFLOW with no state change', () => {
    const s = initSpec(topo('vtd', [{}], [[0, {}], [0, { pasidBits: 1 }]]));
    run(s, spawn(0));
    run(s, spawn(1));
    run(s, bind(0, 0));
    expect(run(s, bind(0, 1))).toEqual({ ok: true, value: 2 });
    const before = abstractView(s);
    expect(run(s, bind(1, 1))).toEqual({ ok: false, errno: 'EOVERFLOW' });
    expect(abstractView(s)).toEqual(before);
    // PASID 1 fits the narrow device (max_pasids 2).
    expect(run(s, bind(1, 0))).toEqual({ ok: true, value: 1 });
  });

  test('the PASID is the smallest free one and comes back only at __mmdrop', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    run(s, spawn(1));
    run(s, bind(0, 0));
    run(s, bind(0, 1));
    run(s, unbind(0, 0));
    expect(abstractView(s).pasids).toEqual([1, 2]);
    run(s, { kind: 'exit', mm: 0 });
    run(s, { kind: 'mmdrop', mm: 0 });
    // the domain free queued a notifier: still pinned until the grace period
    expect(abstractView(s).slots[0]!.state).toBe('dropped');
    run(s, { kind: 'gracePeriod' });
    expect(abstractView(s).slots[0]!.state).toBe('freed');
    expect(abstractView(s).pasids).toEqual([2]);
    run(s, spawn(0));
    expect(run(s, bind(0, 0))).toEqual({ ok: true, value: 1 });
  });

  test('SMMUv3 gives one domain per SMMU instance, VT-d one per mm', () => {
    const smmu = initSpec(defaultTopology('smmuv3'));
    run(smmu, spawn(0));
    run(smmu, bind(0, 0));
    run(smmu, bind(1, 0));
    run(smmu, bind(2, 0));
    expect(abstractView(smmu).domains).toEqual([
      // Newest first, the order a bind tries them in (list_add).
      { mm: 0, groups: [2], iommus: [1], users: 1, asid: 2 },
      { mm: 0, groups: [0, 1], iommus: [0], users: 2, asid: 1 },
    ]);
    const vtd = initSpec(defaultTopology('vtd'));
    run(vtd, spawn(0));
    run(vtd, bind(0, 0));
    run(vtd, bind(2, 0));
    expect(abstractView(vtd).domains).toEqual([{ mm: 0, groups: [0, 2], iommus: [0, 1], users: 2, asid: null }]);
  });

  test('VT-d refuses a device without ATS with EINVAL but keeps the PASID', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, spawn(0));
    expect(run(s, bind(1, 0))).toEqual({ ok: false, errno: 'EINVAL' });
    expect(abstractView(s).slots[0]!.pasid).toBe(1);
    expect(abstractView(s).domains).toEqual([]);
    expect(abstractView(s).slots[0]!.pendingNotifiers).toBe(0);
  });

  test('SMMUv3 ASID exhaustion fails the domain allocation with EBUSY', () => {
    const s = initSpec(topo('smmuv3', [{ asidBits: 1 }], [[0, {}]]));
    run(s, spawn(0));
    run(s, spawn(1));
    run(s, bind(0, 0));
    expect(run(s, bind(0, 1))).toEqual({ ok: false, errno: 'EBUSY' });
    expect(abstractView(s).slots[1]!.pasid).toBe(2);
    expect(abstractView(s).asids).toEqual([1]);
  });

  test('SMMUv3 ASIDs come from one xarray shared by every SMMU instance', () => {
    const s = initSpec(topo('smmuv3', [{ asidBits: 1 }, { asidBits: 1 }], [[0, {}], [1, {}]]));
    run(s, spawn(0));
    run(s, bind(0, 0));
    expect(run(s, bind(1, 0))).toEqual({ ok: false, errno: 'EBUSY' });
  });

  test('a group member with a narrower PASID range makes the attach fail and discards the new domain', () => {
    const s = initSpec(topo('smmuv3', [{}], [[0, { group: 0 }], [0, { group: 0, pasidBits: 1 }], [0, { group: 1 }]]));
    run(s, spawn(0));
    run(s, spawn(1));
    run(s, bind(2, 0)); // takes PASID 1
    expect(run(s, bind(0, 1))).toEqual({ ok: false, errno: 'EINVAL' }); // PASID 2 ≥ max_pasids 2 of dev 1
    const v = abstractView(s);
    expect(v.slots[1]!.pasid).toBe(2);
    expect(v.slots[1]!.pendingNotifiers).toBe(1);
    expect(v.asids).toEqual([1]);
  });

  test('a multi-device group shares one handle; a device without PASID in it is skipped', () => {
    const s = initSpec(topo('vtd', [{}], [[0, { group: 5 }], [0, { group: 5 }], [0, { group: 5, pasidBits: 0 }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    run(s, bind(0, 0));
    expect(run(s, bind(1, 0))).toEqual({ ok: true, value: 1 });
    expect(abstractView(s).handles).toEqual([{ mm: 0, group: 5, users: 2 }]);
    expect(abstractView(s).domains[0]!.users).toBe(1);
    expect(run(s, dma(1, 0, 0)).ok).toBe(true);
    expect(run(s, dma(2, 0, 0)).ok).toBe(false);
    run(s, unbind(0, 0));
    expect(run(s, dma(1, 0, 0)).ok).toBe(true);
    run(s, unbind(1, 0));
    expect(run(s, dma(1, 0, 0))).toMatchObject({ ok: false, errno: 'EFAULT' });
  });
});
