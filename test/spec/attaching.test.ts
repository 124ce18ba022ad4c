import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import { initSpec, linPoints, specPoint, specStep } from '../../src/spec/index.js';
import { attachPartway, mayAttachPartway } from '../../src/spec/attaching.js';
import { bind, dma, run, spawn, topo } from './helpers.js';

// One VT-d group: dev0 with ATS, dev1 without (intel_iommu_sva_supported refuses it).
const mixedGroup = () => topo('vtd', [{}], [[0, { group: 0 }], [0, { group: 0, ats: false }]]);

describe('a group attach stopped partway (spec/attaching.ts)', () => {
  test('only a VT-d group with a PASID device accepted before one refused can stop partway', () => {
    expect(mayAttachPartway(initSpec(mixedGroup()).t, 0)).toBe(true);
    // Refused first: the attach fails before any set_dev_pasid.
    expect(mayAttachPartway(initSpec(topo('vtd', [{}], [[0, { group: 0, ats: false }], [0, { group: 0 }]])).t, 0)).toBe(false);
    // A device without PASID is skipped by __iommu_set_group_pasid.
    expect(mayAttachPartway(initSpec(topo('vtd', [{}], [[0, { group: 0, pasidBits: 0 }], [0, { group: 0, ats: false }]])).t, 0)).toBe(false);
    expect(mayAttachPartway(initSpec(topo('smmuv3', [{}], [[0, { group: 0 }], [0, { group: 0, ats: false }]])).t, 0)).toBe(false);
    expect(mayAttachPartway(initSpec(defaultTopology('amd')).t, 0)).toBe(false);
  });

  test('attachPartway names the devices set up before the refusal, none when it fails first', () => {
    const s = initSpec(mixedGroup());
    expect(attachPartway(s, 0, 1)).toEqual([0]);
    // A PASID past a device's max_pasids is -EINVAL before any device.
    const narrow = initSpec(topo('vtd', [{}], [[0, { group: 0 }], [0, { group: 0, ats: false, pasidBits: 1 }]]));
    expect(attachPartway(narrow, 0, 2)).toBeUndefined();
  });

  test('in a group, a bind that fails on the second device lets a DMA of the first translate between its points', () => {
    const s = initSpec(mixedGroup());
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    const b = bind(0, 0);
    expect([linPoints(s, b), linPoints(s, b, 2)]).toEqual([1, 2]);
    expect(specPoint(s, b, 0, 2)).toBeUndefined();
    // dev0's entry is present; dev1's was never set up.
    expect(specStep(s, dma(0, 0, 0, false)).ok).toBe(true);
    expect(specStep(s, dma(1, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
    expect(specPoint(s, b, 1, 2)).toEqual({ ok: false, errno: 'EINVAL' });
    expect(s.attaching).toEqual([]);
    expect(specStep(s, dma(0, 0, 0, false))).toMatchObject({ ok: false, fault: 'not bound' });
  });

  test('with the mm\'s domains to try first, the bind has four points: each attempt set up, then made', () => {
    // dev2, alone in its group, made mm0's domain; the mixed group's bind tries it, then a new one.
    const s = initSpec(topo('vtd', [{}], [[0, { group: 0 }], [0, { group: 0, ats: false }], [0, { group: 1 }]]));
    run(s, spawn(0));
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: false });
    run(s, bind(2, 0));
    const b = bind(0, 0);
    expect(linPoints(s, b, 2)).toBe(4);
    const seen: boolean[] = [];
    for (let p = 0; p < 3; p++) {
      expect(specPoint(s, b, p, 4)).toBeUndefined();
      seen.push(specStep(s, dma(0, 0, 0, false)).ok);
    }
    // Set up on the mm's domain, between the attempts (no entry), set up on the new domain.
    expect(seen).toEqual([true, false, true]);
    expect(specPoint(s, b, 3, 4)).toEqual({ ok: false, errno: 'EINVAL' });
  });

  test('alone, the bind is one step and no access sees its attempt', () => {
    const s = initSpec(mixedGroup());
    run(s, spawn(0));
    expect(run(s, bind(0, 0))).toEqual({ ok: false, errno: 'EINVAL' });
    expect(s.attaching).toEqual([]);
  });
});
