import { describe, expect, test } from 'vitest';
import { PTE_P, PTE_W, pteFrame } from '../../../src/hw/mem.js';
import { levelIndex } from '../../../src/hw/radix.js';
import { CD_ZERO } from '../../../src/hw/smmuv3/index.js';
import { A, rig, sva, sync } from './fixture.js';

describe('SMMUv3 translation', () => {
  test('a DMA through a valid CD walks the tables and reads the mapped frame', () => {
    const r = rig();
    expect(r.dev.dma(1, A + 1, true)).toEqual({ ok: true, token: 101 });
    expect(r.smmu.tlb.entries()).toEqual([{ asid: 3, vpn: A + 1, frame: r.frames[1], write: true }]);
  });

  test('abort and bypass STEs, an invalid CD and an SSID beyond S1CDMax fault', () => {
    const r = rig();
    expect(r.smmu.translate(r.dev, 2, A, false)).toEqual({ ok: false, fault: 'no-pasid-entry' });
    expect(r.smmu.translate(r.dev, 256, A, false)).toEqual({ ok: false, fault: 'no-pasid-entry' });
    expect(r.smmu.translate(r.dev, 0, A, false)).toEqual({ ok: false, fault: 'stream-abort' });
    r.smmu.streamTable.write(5, { ...r.smmu.streamTable.read(5), config: 'bypass' });
    r.smmu.submit({ kind: 'CFGI_STE', sid: 5, leaf: true });
    sync(r.smmu);
    expect(r.smmu.translate(r.dev, 1, A, false)).toEqual({ ok: false, fault: 'stream-abort' });
  });

  test('an EPD0 CD faults without walking or touching the TLB', () => {
    const r = rig();
    r.cdt.write(1, { ...CD_ZERO, v: true, epd0: true, asid: 3 });
    const before = r.smmu.counters.get('tlb.miss');
    expect(r.smmu.translate(r.dev, 1, A, false)).toEqual({ ok: false, fault: 'fault-disabled' });
    expect(r.smmu.counters.get('tlb.miss')).toBe(before);
    expect(r.smmu.walkCache.entries()).toEqual([]);
  });

  test('a walk fills the walk cache at every non-leaf level and the TLB with the leaf', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    expect(r.smmu.walkCache.entries().map((e) => e.level)).toEqual([1, 2, 3]);
    expect(r.smmu.counters.get('walk.miss')).toBe(1);
  });

  test.each([1, 2, 3])('a walk-cache hit at level %i skips the tables above it', (level) => {
    const r = rig();
    // b shares the level-`level` table with A but no table below it.
    const b = A + 512 ** (level - 1);
    if (level > 1) r.pt.map(b, r.mem.alloc('data', 0, 555), true);
    r.smmu.translate(r.dev, 1, A, false);
    // Cut the path above the level-`level` table: only the walk cache still reaches it.
    const root = r.pt.pgd;
    let table = root;
    for (let l = 4; l > level + 1; l--) table = pteFrame(r.mem.entry(table, levelIndex(A, l)));
    r.mem.setEntry(table, levelIndex(A, level + 1), 0);
    const t = r.smmu.translate(r.dev, 1, b, false);
    expect(t.ok).toBe(true);
    expect(r.smmu.counters.get('walk.hit')).toBe(1);
  });

  test('a user DMA to a supervisor leaf faults but caches the walk above it', () => {
    const r = rig();
    const k = 0xffffc90000000;
    r.kernel.map(k, r.mem.alloc('data', -1, 999), true, false);
    expect(r.smmu.translate(r.dev, 1, k, false)).toEqual({ ok: false, fault: 'no-permission' });
    expect(r.smmu.walkCache.entries().map((e) => e.level)).toEqual([1, 2, 3]);
    expect(r.smmu.tlb.entries()).toEqual([]);
  });

  test('a write through a cached read-only leaf faults even after the PTE became writable', () => {
    const r = rig();
    expect(r.smmu.translate(r.dev, 1, A + 3, false).ok).toBe(true);
    r.pt.setWrite(A + 3, true);
    expect(r.smmu.translate(r.dev, 1, A + 3, true)).toEqual({ ok: false, fault: 'no-permission' });
    r.smmu.submit({ kind: 'TLBI_NH_VA', asid: 3, addr: A + 3, leaf: true, num: 0, scale: 0, tg: 0, ttl: 0 });
    sync(r.smmu);
    expect(r.smmu.translate(r.dev, 1, A + 3, true).ok).toBe(true);
  });

  test('a write to a read-only PTE faults and a missing PTE is not present', () => {
    const r = rig();
    expect(r.smmu.translate(r.dev, 1, A + 3, true)).toEqual({ ok: false, fault: 'no-permission' });
    expect(r.smmu.translate(r.dev, 1, A + 7, false)).toEqual({ ok: false, fault: 'not-present' });
  });

  test('a stale walk-cache entry walks a freed table and the walk is logged as an anomaly', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    for (let i = 0; i < 4; i++) r.pt.unmap(A + i);
    expect(r.pt.freeEmptyTables(A).length).toBeGreaterThan(0);
    r.mem.takeAnomalies();
    r.smmu.submit({ kind: 'TLBI_NH_VA', asid: 3, addr: A, leaf: true, num: 0, scale: 0, tg: 0, ttl: 0 });
    sync(r.smmu);
    r.smmu.translate(r.dev, 1, A, false);
    expect(r.mem.takeAnomalies()).toContainEqual({ kind: 'walk-freed-table', frame: expect.any(Number), by: 'smmu0' });
  });

  test('the CD cache keeps a cleared CD until CFGI_CD and CMD_SYNC', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    r.cdt.write(1, CD_ZERO);
    expect(r.smmu.translate(r.dev, 1, A, false).ok).toBe(true);
    r.smmu.submit({ kind: 'CFGI_CD', sid: 5, ssid: 1, leaf: true });
    expect(r.smmu.translate(r.dev, 1, A, false).ok).toBe(true);
    sync(r.smmu);
    expect(r.smmu.translate(r.dev, 1, A, false)).toEqual({ ok: false, fault: 'no-pasid-entry' });
  });

  test('a CD rewritten with another TTB0 is used only after CFGI_CD and sync', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    const e = r.mem.entry(r.pt.pgd, levelIndex(A, 4));
    expect(e & PTE_P).toBe(PTE_P);
    r.cdt.write(1, { ...sva(3, r.pt), epd0: true, levels: 0, ttb0: 0 });
    expect(r.smmu.translate(r.dev, 1, A, false).ok).toBe(true);
    r.smmu.submit({ kind: 'CFGI_CD', sid: 5, ssid: 1, leaf: true });
    sync(r.smmu);
    expect(r.smmu.translate(r.dev, 1, A, false)).toEqual({ ok: false, fault: 'fault-disabled' });
    expect(PTE_W).toBe(2);
  });
});
