import { describe, expect, test } from 'vitest';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology, faultKindOf } from '../../src/shared/index.js';
import type { Command, Observation } from '../../src/shared/index.js';
import { allocatesFirst, initSpec, linPoints, specPoint } from '../../src/spec/index.js';
import { run } from './helpers.js';

const dmaPasid = (dev: number, pasid: number, page = 0, write = false): Command => ({ kind: 'dmaPasid', dev, pasid, page, write });
const kind = (o: Observation): string => (o.ok ? `ok ${o.value}` : (faultKindOf(o.fault) ?? 'none'));

describe('dmaPasid: the spec answers from what holds (device, PASID) now', () => {
  test('VT-d: a paging HWPT, an SVA mm, nothing, a PASID past the device\'s own width', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, { kind: 'spawn', mm: 0 });
    run(s, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' });
    run(s, { kind: 'touch', mm: 0, page: 0, write: true });
    const pasid = run(s, { kind: 'bind', dev: 0, mm: 0 });
    expect(pasid).toEqual({ ok: true, value: 1 });
    run(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 5 });
    run(s, { kind: 'iommuMap', hwpt: 1, page: 0, write: false });
    // The SVA mm's page, the HWPT's buffer, a read-only IOVA written, nothing at PASID 7.
    expect(run(s, dmaPasid(0, 1))).toEqual({ ok: true, value: s.slots[0]!.token[0] });
    expect(run(s, dmaPasid(0, 5))).toEqual({ ok: true, value: s.hwpts[1]!.token[0] });
    expect(kind(run(s, dmaPasid(0, 5, 0, true)))).toBe('permission');
    expect(kind(run(s, dmaPasid(0, 5, 1)))).toBe('translation-not-present');
    expect(kind(run(s, dmaPasid(0, 7)))).toBe('pasid-not-present');
    // dev3's PCIe width is 3 bits: PASID 8 never leaves it; dev2 (20 bits) reaches its IOMMU, where nothing is attached.
    expect(kind(run(s, dmaPasid(3, 8)))).toBe('no-pasid-cap');
    expect(kind(run(s, dmaPasid(2, 8)))).toBe('pasid-not-present');
  });

  test('VT-d replace has two points: between them the PASID has no present entry; back to back they are replacePasid', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 });
    run(s, { kind: 'iommuMap', hwpt: 0, page: 0, write: false });
    const replace: Command = { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 };
    expect(linPoints(s, replace)).toBe(2);
    expect(specPoint(s, replace, 0)).toBeUndefined();
    expect(run(s, dmaPasid(0, 5))).toEqual({ ok: false, errno: 'EFAULT', fault: 'PASID entry torn down by the replace' });
    expect(specPoint(s, replace, 1)).toEqual({ ok: true });
    expect(s.hwpts[1]!.pasid[0]).toBe(5);
    expect(s.hwpts[1]!.settingUp[0]).toBe(0);
    expect(kind(run(s, dmaPasid(0, 5)))).toBe('translation-not-present');
    // A platform without the window has one point.
    expect(linPoints(initSpec(defaultTopology('amd')), replace)).toBe(1);
  });

  test('SMMUv3 in a group: an unallocated HWPT is allocated at a point of its own, before the attach (a bind may take an ASID between)', () => {
    const s = initSpec(defaultTopology('smmuv3'));
    run(s, { kind: 'spawn', mm: 0 });
    const attach: Command = { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 1 };
    expect([linPoints(s, attach), linPoints(s, attach, 2)]).toEqual([1, 2]);
    expect(allocatesFirst(s, attach, 2)).toBe(true);
    // The VMM's IOMMU_HWPT_ALLOC takes ASID 1; the bind then takes ASID 2 and PASID 1; the attach finds PASID 1 held.
    expect(specPoint(s, attach, 0, 2)).toBeUndefined();
    expect(s.hwpts[1]!.allocated).toBe(true);
    expect(run(s, { kind: 'bind', dev: 0, mm: 0 })).toEqual({ ok: true, value: 1 });
    expect(specPoint(s, attach, 1, 2)).toEqual({ ok: false, errno: 'EBUSY' });
    expect([...s.asids].sort()).toEqual([1, 2]);
    // Once allocated, an attach has one point again, and on AMD (no paging domains at a PASID) never more.
    expect(linPoints(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 2 }, 2)).toBe(1);
    expect(linPoints(initSpec(defaultTopology('amd')), attach, 2)).toBe(1);
  });

  test.each(PLATFORMS)('%s: sequentially, the kernel\'s dmaPasid refines the spec (SVA bound, unbound, exited)', (platform) => {
    const s = openSession(defaultTopology(platform));
    const steps: Command[] = [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'r' }, { kind: 'touch', mm: 0, page: 0, write: false },
      dmaPasid(0, 1), { kind: 'bind', dev: 0, mm: 0 }, dmaPasid(0, 1), dmaPasid(0, 1, 0, true), dmaPasid(0, 1, 1), dmaPasid(2, 1),
      { kind: 'exit', mm: 0 }, dmaPasid(0, 1), { kind: 'unbind', dev: 0, mm: 0 }, dmaPasid(0, 1),
    ];
    const kinds: string[] = [];
    for (const c of steps) {
      expect(checkedStep(s, c)).toEqual([]);
      // The value itself was compared with the spec's by checkedStep.
      if (c.kind === 'dmaPasid') kinds.push(s.steps.at(-1)!.actual.ok ? 'ok' : kind(s.steps.at(-1)!.actual));
    }
    expect(kinds).toEqual([
      'pasid-not-present', 'ok', 'permission', 'translation-not-present', 'pasid-not-present',
      'pasid-not-present', 'pasid-not-present',
    ]);
  });
});
