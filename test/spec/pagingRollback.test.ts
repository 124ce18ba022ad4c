import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * A failed group PASID attach on VT-d: __iommu_set_group_pasid attached dev0 (a PRI endpoint with
 * a page request outstanding for its SVA PASID) before dev1's cache_tag_assign failed; the
 * unwind tears dev0's new entry down with the blocked domain, and that teardown drains the PRQ:
 * the outstanding request is answered there (Invalid: no VMA). The spec drains for each device
 * the unwind detached, and learns which device's attempt failed (a run with --seed 4242 once
 * found the spec still holding the request).
 */
const t: Topology = {
  platform: 'vtd', iommus: [{ pasidBits: 4, didBits: 16, asidBits: 2, rangeInv: true, prqSize: 16 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false }],
  mms: 1, pages: 1, kpages: 0, ptLevels: 5,
};
const PREFIX: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: true }];
const ATTACH: Command = { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 8 };

describe('the unwind of a failed group PASID attach drains (VT-d)', () => {
  test('failNext fails the first device\'s cache_tag_assign: nothing was attached, nothing drains, the request stays outstanding on both sides', () => {
    const r = runSequence(t, [...PREFIX, { kind: 'failNext', site: 'kzalloc@cache_tag_assign' }, ATTACH]);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.steps.at(-1)!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(s.world.devices[0]!.hw.priState!.outstanding).toHaveLength(1);
    expect(s.spec.outstanding[0]).toBe(1);
  });

  test('failNth(7) fails the second device\'s: the first one\'s teardown answers the request, in the kernel and the spec', () => {
    const r = runSequence(t, [...PREFIX, { kind: 'failNth', n: 7 }, ATTACH]);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.steps.at(-1)!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(s.world.devices[0]!.hw.priState!.outstanding).toEqual([]);
    expect(s.spec.outstanding[0]).toBe(0);
  });
});
