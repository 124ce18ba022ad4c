import { describe, expect, test } from 'vitest';
import { iovaVpn, kernelVpn, userVpn } from '../../../src/shared/index.js';
import { makePte, PTE_P, PTE_W } from '../../../src/hw/mem.js';
import { Radix, levelIndex } from '../../../src/hw/radix.js';
import { GuestS1Table } from '../../../src/impl/guestS1.js';
import { bindAll, mapPage, rig, wait } from './fixture.js';

describe('first-level walk', () => {
  test.each([4, 5] as const)('a %i-level walk reaches the leaf and fills the PSC at every non-leaf level', (levels) => {
    const r = rig({ levels });
    bindAll(r, 5);
    mapPage(r, 0, true, 77);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 77 });
    const psc = r.unit.psc.entries();
    expect(psc.map((e) => e.level)).toEqual(Array.from({ length: levels - 1 }, (_, i) => i + 1));
    expect(r.unit.iotlb.entries()).toHaveLength(1);
    expect(r.unit.counters.get('psc.miss')).toBe(1);
  });

  test.each([4, 5] as const)('the deepest PSC hit is used at every level (%i levels)', (levels) => {
    const r = rig({ levels, ats: false });
    bindAll(r, 5);
    mapPage(r, 0, true, 10);
    mapPage(r, 1, true, 11); // same PTE table as page 0
    r.devs[0]!.dma(5, userVpn(0), false);
    // Zero the pgd entry behind the hardware's back: the cached PDE pointer still works.
    const top = levelIndex(userVpn(1), levels);
    const saved = r.mem.entry(r.pt.pgd, top);
    r.mem.setEntry(r.pt.pgd, top, 0);
    expect(r.devs[0]!.dma(5, userVpn(1), false)).toEqual({ ok: true, token: 11 });
    expect(r.unit.counters.get('psc.hit')).toBe(1);
    // Drop the whole PSC: now the walk starts at the (zeroed) root and faults.
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit(wait);
    expect(r.devs[0]!.dma(5, userVpn(1), false)).toEqual({ ok: false, fault: 'vtd0: not-present' });
    r.mem.setEntry(r.pt.pgd, top, saved);
    expect(r.devs[0]!.dma(5, userVpn(1), false)).toEqual({ ok: true, token: 11 });
  });

  test('a cached PSC entry of each level alone resumes the walk below it', () => {
    const r = rig({ levels: 5, ats: false });
    bindAll(r, 5);
    mapPage(r, 0, true, 10);
    mapPage(r, 1, true, 11);
    r.devs[0]!.dma(5, userVpn(0), false);
    const full = r.unit.psc.entries();
    for (const keep of [1, 2, 3, 4]) {
      r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
      r.unit.submit(wait);
      const e = full.find((x) => x.level === keep)!;
      r.unit.psc.fill(1, 5, userVpn(1), keep, e.frame * 4 + 3);
      const hits = r.unit.counters.get('psc.hit');
      expect(r.devs[0]!.dma(5, userVpn(1), false)).toEqual({ ok: true, token: 11 });
      expect(r.unit.counters.get('psc.hit')).toBe(hits + 1);
    }
  });

  test('a user access to a supervisor (kernel) page faults, but the PSC above it is filled', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    const frame = r.mem.alloc('data', -1, 99);
    r.kernel.map(kernelVpn(0), frame, true, false);
    expect(r.devs[0]!.dma(5, kernelVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
    expect(r.unit.psc.entries().map((e) => e.level)).toEqual([1, 2, 3]);
    expect(r.unit.iotlb.entries()).toEqual([]);
  });

  test('a walk through a cached pointer to a freed kernel table is logged as an anomaly', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    const frame = r.mem.alloc('data', -1, 99);
    r.kernel.map(kernelVpn(0), frame, true, false);
    r.devs[0]!.dma(5, kernelVpn(0), false);
    r.kernel.unmap(kernelVpn(0));
    const freed = r.kernel.freeEmptyTables(kernelVpn(0));
    expect(freed.length).toBeGreaterThan(0);
    r.mem.takeAnomalies();
    r.devs[0]!.dma(5, kernelVpn(0), false);
    expect(r.mem.takeAnomalies().map((a) => a.kind)).toContain('walk-freed-table');
  });

  test('a write through a cached read-only IOTLB entry re-walks and sees the upgrade', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    mapPage(r, 0, false, 7);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 7 });
    r.pt.setWrite(userVpn(0), true);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: true, token: 7 });
    expect(r.unit.counters.get('iotlb.rewalk')).toBe(1);
    expect(r.unit.iotlb.entries()[0]!.write).toBe(true);
  });

  test('a cached writable entry outlives a downgrade until it is invalidated', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    mapPage(r, 0, true, 7);
    r.devs[0]!.dma(5, userVpn(0), true);
    r.pt.setWrite(userVpn(0), false);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: true, token: 7 });
    r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: userVpn(0), am: 0, ih: false });
    r.unit.submit(wait);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
  });

  test('a non-present leaf or level faults and caches no leaf', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: not-present' });
    mapPage(r, 0, true);
    expect(r.devs[0]!.dma(5, userVpn(1), false)).toEqual({ ok: false, fault: 'vtd0: not-present' });
    expect(r.unit.iotlb.entries()).toEqual([]);
  });

  test('a non-leaf entry without W makes the leaf read-only', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    mapPage(r, 0, true, 3);
    const i = levelIndex(userVpn(0), 4);
    const e = r.mem.entry(r.pt.pgd, i);
    r.mem.setEntry(r.pt.pgd, i, makePte(e >>> 3, (e & 7) & ~PTE_W) | PTE_P);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 3 });
  });
});

describe('nested walk (PGTT nested, VT-d spec 3.8)', () => {
  /**
   * A stage-2 table (host) and a guest stage-1 table whose pages are mapped at GPAs in it: IOVA
   * userVpn(0) → GPA gpaData → frame `data` (token 55), every stage-1 table access through stage 2.
   */
  const nestedRig = (s1Write: boolean, s2Write: boolean) => {
    const r = rig({ ats: false });
    const s2 = new Radix(r.mem, r.mem.alloc('table', -1), 4, -1);
    const s1 = new GuestS1Table(r.mem);
    for (const [gpa, frame] of s1.tables) s2.map(gpa, frame, false);
    const gpaData = iovaVpn(3);
    const data = r.mem.alloc('data', -1, 55);
    s2.map(gpaData, data, s2Write);
    s1.map(userVpn(0), gpaData, s1Write);
    r.tables[0]!.allocLeaf(5);
    r.tables[0]!.write(5, { present: true, fpd: false, pgtt: 'NESTED', flptr: s1.root, slptr: s2.root, did: 9, levels: 4 });
    return { r, s1, s2, gpaData };
  };

  test('the combined translation is cached tagged (DID, PASID); a write needs W at both stages', () => {
    const { r } = nestedRig(true, false);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 55 });
    expect(r.unit.iotlb.nestedEntries()).toEqual([expect.objectContaining({ did: 9, pasid: 5, vpn: userVpn(0), write: false })]);
    expect(r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
    expect(nestedRig(false, true).r.devs[0]!.dma(5, userVpn(0), true)).toEqual({ ok: false, fault: 'vtd0: no-permission' });
    expect(r.unit.psc.entries()).toEqual([]);
  });

  test('a stage-1 table page the second stage does not map faults as not present', () => {
    const { r, s1, s2 } = nestedRig(true, true);
    s2.unmap([...s1.tables.keys()][1]!);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: not-present' });
  });

  test('P_IOTLB of (DID, PASID), IOTLB DSI and PSI of the DID (any address) drop nested entries; another DID\'s do not', () => {
    for (const desc of [
      { kind: 'piotlb', granularity: 'page', did: 9, pasid: 5, addr: userVpn(0), am: 0, ih: true },
      { kind: 'iotlb_dsi', did: 9 },
      { kind: 'iotlb_psi', did: 9, addr: 0, am: 0 },
    ] as const) {
      const { r } = nestedRig(true, true);
      r.devs[0]!.dma(5, userVpn(0), false);
      r.unit.submit({ kind: 'iotlb_dsi', did: 8 });
      r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 9, pasid: 6 });
      r.unit.submit(wait);
      expect(r.unit.iotlb.nestedEntries()).toHaveLength(1);
      r.unit.submit(desc);
      r.unit.submit(wait);
      expect(r.unit.iotlb.nestedEntries()).toEqual([]);
    }
  });

  test('an IOTLB PSI leaves first-level entries of its DID alone (the model keeps them to P_IOTLB)', () => {
    const r = rig({ ats: false });
    bindAll(r, 5, 9);
    mapPage(r, 0, true);
    r.devs[0]!.dma(5, userVpn(0), false);
    r.unit.submit({ kind: 'iotlb_psi', did: 9, addr: 0, am: 0 });
    r.unit.submit(wait);
    expect(r.unit.iotlb.entries()).toHaveLength(1);
  });
});
