import { describe, expect, test } from 'vitest';
import { userVpn } from '../../../src/shared/index.js';
import { HwError } from '../../../src/hw/errors.js';
import { CLEAR_PASID_ENTRY, FPD_PASID_ENTRY, PasidTable } from '../../../src/hw/vtd/pasidTable.js';
import { bindAll, flEntry, mapPage, rig } from './fixture.js';

describe('PASID table', () => {
  test('leaves are allocated by software; the hardware fetches nothing from a missing leaf', () => {
    const t = new PasidTable(128);
    expect(t.fetch(70)).toBeUndefined();
    expect(t.hasLeaf(70)).toBe(false);
    t.allocLeaf(70);
    expect(t.hasLeaf(64)).toBe(true);
    expect(t.hasLeaf(10)).toBe(false);
    expect(t.fetch(70)?.present).toBe(false);
  });

  test('software access beyond the directory or to a missing leaf is a HwError; a hardware fetch is not', () => {
    const t = new PasidTable(64);
    expect(() => t.read(3)).toThrow(/leaf not allocated/);
    expect(() => t.allocLeaf(64)).toThrow(HwError);
    expect(() => new PasidTable(100)).toThrow(HwError);
    expect(t.fetch(1000)).toBeUndefined();
  });

  test('entries lists present and FPD entries only', () => {
    const r = rig();
    bindAll(r, 5);
    r.tables[0]!.allocLeaf(130);
    r.tables[0]!.write(130, FPD_PASID_ENTRY);
    expect(r.tables[0]!.entries().map((e) => [e.pasid, e.entry.present, e.entry.fpd])).toEqual([
      [5, true, false], [130, false, true],
    ]);
  });

  test('a DMA through a missing, non-present or FPD entry faults with the matching reason', () => {
    const r = rig({ ats: false });
    mapPage(r, 0, true);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: no-pasid-entry' });
    r.tables[0]!.allocLeaf(5);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: no-pasid-entry' });
    r.tables[0]!.write(5, FPD_PASID_ENTRY);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: fault-disabled' });
    r.tables[0]!.write(5, { ...flEntry(r), pgtt: 'PT' });
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: no-pasid-entry' });
    expect(r.devs[0]!.dma(300, userVpn(0), false)).toEqual({ ok: false, fault: 'dev0: no-pasid-cap' });
    expect(r.unit.pasidCache.size).toBe(1);
  });

  test('a wait with the drain bit is counted as a PRQ drain', () => {
    const r = rig();
    r.unit.submit({ kind: 'wait', fence: true, drain: false });
    r.unit.submit({ kind: 'wait', fence: false, drain: true });
    expect(r.unit.counters.get('prq.drain')).toBe(1);
    expect(r.unit.prq.pending).toEqual([]);
  });

  test('logs a write that changes a present entry beyond its P bit; setting up, clearing P and zeroing a non-present one are not logged', () => {
    const t = new PasidTable(64);
    t.allocLeaf(3);
    const live = { present: true, fpd: false, pgtt: 'FL', flptr: 7, slptr: 0, did: 1, levels: 4 } as const;
    t.write(3, live);
    t.write(3, { ...live, present: false });
    t.write(3, CLEAR_PASID_ENTRY);
    expect(t.liveRewrites).toEqual([]);
    t.write(3, live);
    t.write(3, CLEAR_PASID_ENTRY);
    t.write(3, live);
    t.write(3, { ...live, did: 2 });
    expect(t.liveRewrites).toEqual([3, 3]);
  });
  test('word stores over a present entry: each fetch in between sees the words stored so far (val[0]: P, PGTT, SLPTPTR, SL AW; val[1]: DID; val[2]: FLPTR, FLPM)', () => {
    const t = new PasidTable(64);
    t.allocLeaf(5);
    const sl = { present: true, fpd: false, pgtt: 'SL', flptr: 0, slptr: 11, did: 3, levels: 4 } as const;
    const fl = { present: true, fpd: false, pgtt: 'FL', flptr: 22, slptr: 0, did: 4, levels: 5 } as const;
    t.write(5, sl);
    t.storeWord(5, 0, fl);
    // The torn entry of R05: first-level with the old second-level entry's FLPTR (0) and DID.
    expect(t.fetch(5)).toEqual({ ...sl, pgtt: 'FL', slptr: 0 });
    t.storeWord(5, 1, fl);
    expect(t.fetch(5)).toEqual({ ...sl, pgtt: 'FL', slptr: 0, did: 4 });
    t.storeWord(5, 2, fl);
    // The last store completes it: the table holds the written entry itself.
    expect(t.fetch(5)).toBe(fl);
    // An SL entry's AW lives in val[0]: a val[0] store of one over an FL entry keeps nothing of FLPM.
    t.storeWord(5, 0, sl);
    expect(t.fetch(5)).toEqual({ ...fl, pgtt: 'SL', slptr: 11, levels: 4 });
  });
});
