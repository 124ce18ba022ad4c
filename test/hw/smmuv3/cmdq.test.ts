import { describe, expect, test } from 'vitest';
import { HwError } from '../../../src/hw/errors.js';
import type { SmmuCmd } from '../../../src/hw/smmuv3/index.js';
import { A, rig, sync } from './fixture.js';

const va = (asid: number, addr: number, over: Partial<Extract<SmmuCmd, { kind: 'TLBI_NH_VA' }>> = {}): SmmuCmd => ({
  kind: 'TLBI_NH_VA', asid, addr, leaf: false, num: 0, scale: 0, tg: 0, ttl: 0, ...over,
});

const warm = (r: ReturnType<typeof rig>): void => {
  for (let i = 0; i < 4; i++) r.smmu.translate(r.dev, 1, A + i, false);
};
const tlbVpns = (r: ReturnType<typeof rig>): number[] => r.smmu.tlb.entries().map((e) => e.vpn - A);

describe('SMMUv3 command queue', () => {
  test('a TLBI takes effect only at the CMD_SYNC that follows it', () => {
    const r = rig();
    warm(r);
    expect(r.smmu.submit({ kind: 'TLBI_NH_ASID', asid: 3 })).toBe('queued');
    expect(r.smmu.pending).toHaveLength(1);
    expect(tlbVpns(r)).toEqual([0, 1, 2, 3]);
    expect(sync(r.smmu)).toBe('completed');
    expect(tlbVpns(r)).toEqual([]);
    expect(r.smmu.walkCache.entries()).toEqual([]);
    expect(r.smmu.pending).toHaveLength(0);
  });

  test('TLBI by ASID leaves other ASIDs alone', () => {
    const r = rig();
    warm(r);
    r.smmu.submit({ kind: 'TLBI_NH_ASID', asid: 4 });
    sync(r.smmu);
    expect(tlbVpns(r)).toEqual([0, 1, 2, 3]);
  });

  test('a single-page TLBI by VA drops that page and, without LEAF, the walk cache above it', () => {
    const r = rig();
    warm(r);
    r.smmu.submit(va(3, A + 2, { leaf: true }));
    sync(r.smmu);
    expect(tlbVpns(r)).toEqual([0, 1, 3]);
    expect(r.smmu.walkCache.entries()).toHaveLength(3);
    r.smmu.submit(va(3, A + 1));
    sync(r.smmu);
    expect(tlbVpns(r)).toEqual([0, 3]);
    expect(r.smmu.walkCache.entries()).toEqual([]);
  });

  test('a range TLBI covers (NUM + 1) << SCALE pages from an unaligned start', () => {
    const r = rig();
    warm(r);
    // 2 pages from A + 1: an unaligned range leaves A and A + 3.
    r.smmu.submit(va(3, A + 1, { tg: 1, num: 1, scale: 0, leaf: true }));
    sync(r.smmu);
    expect(tlbVpns(r)).toEqual([0, 3]);
    warm(r);
    // 1 << 1 pages from A + 3.
    r.smmu.submit(va(3, A + 3, { tg: 1, num: 0, scale: 1, leaf: true }));
    sync(r.smmu);
    expect(tlbVpns(r)).toEqual([0, 1, 2]);
  });

  test('a range TLBI without LEAF drops walk-cache entries whose span meets the range', () => {
    const r = rig();
    warm(r);
    // A = 512^2: [A - 1024, A) meets only the span of the level-3 table A's walk reached.
    r.smmu.submit(va(3, A - 1024, { tg: 1, num: 1, scale: 9 }));
    sync(r.smmu);
    expect(r.smmu.walkCache.entries().map((e) => e.level)).toEqual([1, 2]);
    expect(tlbVpns(r)).toEqual([0, 1, 2, 3]);
  });

  test('malformed commands are typed hardware errors and nothing is queued', () => {
    const r = rig({ rangeInv: false });
    const bad: SmmuCmd[] = [
      va(3, A, { tg: 1, num: 1 }), // range without RANGE_INV
      va(3, A, { num: 1 }), // NUM without TG
      va(3, A, { ttl: 2 }), // TTL without TG
      va(256, A), // ASID beyond 8 bits
      va(3, 2 ** 52),
      { kind: 'CFGI_CD', sid: 5, ssid: 256, leaf: true },
      { kind: 'CFGI_STE', sid: 1 << 16, leaf: true },
      { kind: 'TLBI_NH_ASID', asid: -1 },
      { kind: 'ATC_INV', sid: 5, ssv: true, ssid: 1, addr: A + 1, size: 1 }, // unaligned span
      { kind: 'ATC_INV', sid: 5, ssv: true, ssid: 1, addr: 0, size: 53 },
      { kind: 'ATC_INV', sid: 5, ssv: false, ssid: 1, addr: 0, size: 52 }, // SSID without SSV
      { kind: 'ATC_INV', sid: 6, ssv: true, ssid: 1, addr: 0, size: 52 }, // no endpoint
    ];
    for (const c of bad) expect(() => r.smmu.submit(c), JSON.stringify(c)).toThrow(HwError);
    expect(r.smmu.pending).toHaveLength(0);
    const ranged = rig({ rangeInv: true });
    expect(() => ranged.smmu.submit(va(3, A, { tg: 1, num: -1 }))).toThrow(/zero-size/);
    expect(() => ranged.smmu.submit(va(3, A, { tg: 1, scale: 32 }))).toThrow(/SCALE 32/);
    expect(() => ranged.smmu.submit(va(3, A, { tg: 4 }))).toThrow(/TG 4/);
  });

  test('a range TLBI naming an unimplemented granule (64K) is a skipped CERROR_ILL: the sync completes, nothing is invalidated', () => {
    const r = rig({ rangeInv: true });
    warm(r);
    const bad = va(3, A, { tg: 3, num: 0, scale: 12 });
    expect(r.smmu.submit(bad)).toBe('queued');
    expect(r.smmu.cmdqErrors).toEqual([]);
    expect(sync(r.smmu)).toBe('completed');
    expect(r.smmu.cmdqErrors).toEqual([bad]);
    expect(r.smmu.counters.get('cmdq.cerror_ill')).toBe(1);
    expect(tlbVpns(r)).toEqual([0, 1, 2, 3]);
  });

  test('ATC_INV invalidates an aligned power-of-two span of one PASID, or everything', () => {
    const r = rig();
    for (let i = 0; i < 4; i++) r.dev.prefetch(1, A + i);
    r.smmu.submit({ kind: 'ATC_INV', sid: 5, ssv: true, ssid: 1, addr: A, size: 1 });
    expect(r.dev.atcEntries()).toHaveLength(4);
    sync(r.smmu);
    expect(r.dev.atcEntries().map((e) => e.vpn - A)).toEqual([2, 3]);
    r.smmu.submit({ kind: 'ATC_INV', sid: 5, ssv: true, ssid: 2, addr: 0, size: 52 });
    sync(r.smmu);
    expect(r.dev.atcEntries()).toHaveLength(2);
    r.smmu.submit({ kind: 'ATC_INV', sid: 5, ssv: true, ssid: 1, addr: 0, size: 52 });
    sync(r.smmu);
    expect(r.dev.atcEntries()).toEqual([]);
  });

  test('ATC_INV without a PASID prefix hits every PASID in the range', () => {
    const r = rig();
    r.dev.prefetch(1, A);
    r.smmu.submit({ kind: 'ATC_INV', sid: 5, ssv: false, ssid: 0, addr: 0, size: 52 });
    sync(r.smmu);
    expect(r.dev.atcEntries()).toEqual([]);
  });

  test('the ATC survives a TLBI-only flush and still serves the stale translation', () => {
    const r = rig();
    expect(r.dev.dma(1, A, false)).toEqual({ ok: true, token: 100 });
    r.pt.unmap(A);
    r.smmu.submit({ kind: 'TLBI_NH_ASID', asid: 3 });
    sync(r.smmu);
    expect(r.smmu.tlb.entries().some((e) => e.vpn === A)).toBe(false);
    expect(r.dev.dma(1, A, false)).toEqual({ ok: true, token: 100 });
  });

  test('a sync whose ATC_INV targets a disconnected device times out, and the rest still applies', () => {
    const r = rig();
    warm(r);
    r.dev.prefetch(1, A);
    r.dev.disconnected = true;
    r.smmu.submit({ kind: 'TLBI_NH_ASID', asid: 3 });
    r.smmu.submit({ kind: 'ATC_INV', sid: 5, ssv: true, ssid: 1, addr: 0, size: 52 });
    expect(sync(r.smmu)).toBe('timeout');
    expect(r.smmu.lastSyncTimedOut).toBe(true);
    expect(r.smmu.syncTimeouts).toBe(1);
    expect(r.smmu.counters.get('cmdq.sync_timeout')).toBe(1);
    expect(r.dev.atcEntries()).toHaveLength(1);
    expect(r.smmu.tlb.entries()).toEqual([]);
    expect(sync(r.smmu)).toBe('completed');
    expect(r.smmu.lastSyncTimedOut).toBe(false);
  });

  test('CFGI_STE drops the cached STE and the CDs fetched through it', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    expect(r.smmu.config.cdEntries()).toHaveLength(1);
    r.smmu.submit({ kind: 'CFGI_STE', sid: 5, leaf: true });
    sync(r.smmu);
    expect(r.smmu.config.cdEntries()).toEqual([]);
    expect(r.smmu.config.steEntries()).toEqual([]);
  });

  test('counters record each command kind, each sync and cache hits and misses', () => {
    const r = rig();
    r.smmu.translate(r.dev, 1, A, false);
    r.smmu.translate(r.dev, 1, A, false);
    r.smmu.submit({ kind: 'CFGI_CD', sid: 5, ssid: 1, leaf: true });
    r.smmu.submit(va(3, A));
    r.smmu.submit(va(3, A + 1));
    sync(r.smmu);
    expect(r.smmu.counters.snapshot()).toMatchObject({
      'cmdq.CFGI_CD': 1, 'cmdq.TLBI_NH_VA': 2, 'cmdq.CMD_SYNC': 1, 'tlb.hit': 1, 'tlb.miss': 1, 'cd.miss': 1, 'cd.hit': 1,
    });
  });

  test('a trace sink sees one queue event per command and per sync completion, and what each command evicted', () => {
    const r = rig();
    const events: string[] = [];
    r.smmu.trace = { event: (lane, actor, text) => events.push(`${lane}:${actor}:${text}`) };
    r.smmu.submit({ kind: 'TLBI_NH_ASID', asid: 3 });
    sync(r.smmu);
    expect(events).toEqual([
      'queue:smmu0:TLBI_NH_ASID asid=3', 'queue:smmu0:CMD_SYNC', 'cache:smmu0:apply TLBI_NH_ASID: evicts nothing', 'queue:smmu0:CMD_SYNC completed',
    ]);
  });
});
