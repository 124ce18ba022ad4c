import { describe, expect, test } from 'vitest';
import { initSpec, linPoints, specPoint, specStep } from '../../src/spec/index.js';
import type { Command } from '../../src/shared/index.js';
import { PARTWAY_NEW, PARTWAY_NONE, PARTWAY_OLD } from '../../src/spec/pagingPartway.js';
import { run, topo } from './helpers.js';

/** Two PASID devices in one VT-d group; HWPT 0 at PASID 2 maps IOVA page 0, HWPT 1 maps it too. */
const setup = () => {
  const t = topo('vtd', [{}], [[0, {}], [0, {}]]);
  const s = initSpec({ ...t, devices: t.devices.map((d) => ({ ...d, group: 0 })) });
  run(s, { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 2 });
  run(s, { kind: 'iommuMap', hwpt: 0, page: 0, write: true });
  run(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 });
  run(s, { kind: 'iommuMap', hwpt: 1, page: 0, write: true });
  run(s, { kind: 'detachPasid', dev: 0, hwpt: 1 });
  return s;
};
const dma = (dev: number, pasid: number): Command => ({ kind: 'dmaPasid', dev, pasid, page: 0, write: false });

describe('a paging attach or replace failing partway through its group (spec/pagingPartway.ts)', () => {
  test('a replace whose second device fails: between the failure and the rollback the first device finds old, none or new, the second the old entry', () => {
    const s = setup();
    const oldToken = s.hwpts[0]!.token[0]!;
    const newToken = s.hwpts[1]!.token[0]!;
    const replace: Command = { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 };
    expect(linPoints(s, replace, 2)).toBe(2);
    // The second device's cache_tag_assign fails (the oracle carries the injection in).
    s.injected = 'kzalloc@cache_tag_assign';
    s.injectSkip = 1;
    expect(specPoint(s, replace, 0, 2)).toBeUndefined();
    expect(s.pagingPartway).toEqual([expect.objectContaining({ group: 0, pasid: 2, devs: [0], from: 0, to: 1, errno: 'ENOMEM' })]);
    s.partwaySeen = PARTWAY_OLD;
    expect(specStep(s, dma(0, 2))).toEqual({ ok: true, value: oldToken });
    s.partwaySeen = PARTWAY_NONE;
    expect(specStep(s, dma(0, 2))).toMatchObject({ ok: false, fault: 'PASID entry torn down by the replace' });
    s.partwaySeen = PARTWAY_NEW;
    expect(specStep(s, dma(0, 2))).toEqual({ ok: true, value: newToken });
    expect(specStep(s, dma(1, 2))).toEqual({ ok: true, value: oldToken });
    s.partwaySeen = PARTWAY_OLD;
    expect(specPoint(s, replace, 1, 2)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(s.pagingPartway).toEqual([]);
    expect(s.hwpts[0]!.pasid[0]).toBe(2);
    expect(s.hwpts[1]!.pasid[0]).toBe(0);
  });

  test('a failure at the first device opens no window; an attach has its window only with an injection armed', () => {
    const s = setup();
    const replace: Command = { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 };
    s.injected = 'kzalloc@cache_tag_assign';
    expect(specPoint(s, replace, 0, 2)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(s.pagingPartway).toEqual([]);
    const attach: Command = { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 5 };
    expect(linPoints(s, attach, 2)).toBe(1);
    run(s, { kind: 'failNext', site: 'kzalloc@cache_tag_assign' });
    expect(linPoints(s, attach, 2)).toBe(3);
    expect(linPoints(s, attach, 1)).toBe(1);
  });

  test('an attach whose second device fails: the first finds the new domain until the rollback, then nothing', () => {
    const s = setup();
    const attach: Command = { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 5 };
    s.injected = 'kzalloc@cache_tag_assign';
    s.injectSkip = 1;
    expect(specPoint(s, attach, 0, 3)).toBeUndefined();
    expect(specPoint(s, attach, 1, 3)).toBeUndefined();
    s.partwaySeen = PARTWAY_NEW;
    expect(specStep(s, dma(0, 5))).toEqual({ ok: true, value: s.hwpts[1]!.token[0]! });
    s.partwaySeen = PARTWAY_NONE;
    expect(specStep(s, dma(0, 5))).toMatchObject({ ok: false, fault: 'not bound' });
    s.partwaySeen = PARTWAY_OLD;
    expect(specPoint(s, attach, 2, 3)).toEqual({ ok: false, errno: 'ENOMEM' });
    expect(specStep(s, dma(0, 5))).toMatchObject({ ok: false, fault: 'not bound' });
  });
});
