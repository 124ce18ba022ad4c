import { describe, expect, test } from 'vitest';
import { userVpn } from '../../../src/shared/index.js';
import { HwError } from '../../../src/hw/errors.js';
import { QI_LENGTH } from '../../../src/hw/vtd/invQueue.js';
import { bindAll, mapPage, rig, wait, type Rig } from './fixture.js';

/** Pages 0..7 mapped and cached (IOTLB, PSC and ATC) through PASID 5. */
const warm = (r: Rig, pages = 8): void => {
  for (let p = 0; p < pages; p++) mapPage(r, p, true);
  for (let p = 0; p < pages; p++) for (const d of r.devs) d.dma(5, userVpn(p), false);
};
const cachedVpns = (r: Rig): number[] => r.unit.iotlb.entries().map((e) => e.vpn);

describe('invalidation queue', () => {
  test('a submitted invalidation takes effect only when a later wait is processed', () => {
    const r = rig();
    bindAll(r, 5);
    warm(r, 2);
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit({ kind: 'devtlb', sid: 0x100, pasid: 5, global: false, addr: 0, sizeOrder: 52 });
    expect(r.unit.queue.pendingCount).toBe(2);
    expect(r.unit.iotlb.entries()).toHaveLength(2);
    expect(r.devs[0]!.atcEntries()).toHaveLength(2);
    r.unit.submit(wait);
    expect(r.unit.queue.pendingCount).toBe(0);
    expect(r.unit.iotlb.entries()).toEqual([]);
    expect(r.unit.psc.entries()).toEqual([]);
    expect(r.devs[0]!.atcEntries()).toEqual([]);
    expect(r.unit.queue.completedWaits).toBe(1);
  });

  test('counters count every descriptor kind and wait at submission', () => {
    const r = rig();
    r.unit.submit({ kind: 'pc', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: 8, am: 3, ih: false });
    r.unit.submit({ kind: 'iotlb_dsi', did: 1 });
    r.unit.submit({ kind: 'devtlb', sid: 0x100, pasid: 5, global: false, addr: 0, sizeOrder: 0 });
    r.unit.submit(wait);
    expect(r.unit.counters.snapshot()).toMatchObject({
      'qi.pc': 1, 'qi.piotlb': 2, 'qi.iotlb_dsi': 1, 'qi.devtlb': 1, 'qi.wait': 1,
    });
    expect(r.events.filter((e) => e.lane === 'queue').map((e) => e.text)).toEqual([
      'submit pc did=1 pasid=5', 'submit piotlb did=1 pasid=5 all', 'submit piotlb did=1 pasid=5 addr=8 am=3',
      'submit iotlb_dsi did=1', 'submit devtlb sid=256 pasid=5 addr=0 size=2^0', 'submit wait', 'wait done',
    ]);
  });

  test.each([
    { am: 0, first: 2, expectLeft: [0, 1, 3, 4, 5, 6, 7] },
    { am: 1, first: 2, expectLeft: [0, 1, 4, 5, 6, 7] },
    { am: 2, first: 4, expectLeft: [0, 1, 2, 3] },
    { am: 3, first: 0, expectLeft: [] },
  ])('a page-selective P_IOTLB with AM=$am drops exactly its 2^AM pages', ({ am, first, expectLeft }) => {
    // Pages p and p+1 share a PTE table 512 vpns apart from the next pair: use raw vpns here.
    const r = rig({ ats: false });
    bindAll(r, 5);
    const base = userVpn(0);
    for (let i = 0; i < 8; i++) {
      const f = r.mem.alloc('data', 0, i);
      r.pt.map(base + i, f, true);
      r.devs[0]!.dma(5, base + i, false);
    }
    r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: base + first, am, ih: false });
    r.unit.submit(wait);
    expect(cachedVpns(r).map((v) => v - base)).toEqual(expectLeft);
  });

  test('an address not aligned to its mask is a malformed descriptor', () => {
    const r = rig();
    const bad = () => r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: 6, am: 2, ih: false });
    expect(bad).toThrow(HwError);
    expect(bad).toThrow(/not aligned/);
    expect(() => r.unit.submit({ kind: 'devtlb', sid: 0x100, pasid: 5, global: false, addr: 3, sizeOrder: 1 })).toThrow(HwError);
    expect(() => r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: 0, am: 53, ih: false })).toThrow(HwError);
    expect(r.unit.queue.pendingCount).toBe(0);
  });

  test('an out-of-range PASID or DID, or an unknown SID, is a malformed descriptor', () => {
    const r = rig();
    expect(() => r.unit.submit({ kind: 'pc', granularity: 'pasid', did: 1, pasid: 256 })).toThrow(/PASID 256 beyond 8 bits/);
    expect(() => r.unit.submit({ kind: 'iotlb_dsi', did: 256 })).toThrow(/DID 256/);
    expect(() => r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: -1, pasid: 1 })).toThrow(HwError);
    expect(() => r.unit.submit({ kind: 'devtlb', sid: 0x999, pasid: 1, global: false, addr: 0, sizeOrder: 0 })).toThrow(/unknown SID/);
  });

  test('IH=1 keeps the paging-structure cache; IH=0 drops the entries covering the range', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    warm(r, 4);
    const psc = r.unit.psc.entries().length;
    r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: userVpn(2), am: 0, ih: true });
    r.unit.submit(wait);
    expect(r.unit.psc.entries()).toHaveLength(psc);
    r.unit.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 5, addr: userVpn(2), am: 0, ih: false });
    r.unit.submit(wait);
    // The PTE-table pointer for pages 2,3 and the upper levels spanning them go; pages 0,1's PDE stays.
    const left = r.unit.psc.entries();
    expect(left).toEqual([expect.objectContaining({ level: 1, prefix: Math.floor(userVpn(0) / 512) })]);
  });

  test('a P_IOTLB touches only its own (DID, PASID)', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    bindAll(r, 6, 2);
    mapPage(r, 0, true);
    r.devs[0]!.dma(5, userVpn(0), false);
    r.devs[0]!.dma(6, userVpn(0), false);
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 6 });
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 2, pasid: 5 });
    r.unit.submit(wait);
    expect(r.unit.iotlb.entries().map((e) => [e.did, e.pasid])).toEqual([[1, 5], [2, 6]]);
  });

  test('a domain-selective IOTLB flush leaves first-level PASID entries in place', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    warm(r, 2);
    const before = { iotlb: r.unit.iotlb.entries(), psc: r.unit.psc.entries() };
    r.unit.submit({ kind: 'iotlb_dsi', did: 1 });
    r.unit.submit({ kind: 'iotlb_psi', did: 1, addr: 0, am: 52 });
    r.unit.submit(wait);
    expect({ iotlb: r.unit.iotlb.entries(), psc: r.unit.psc.entries() }).toEqual(before);
  });

  test('a PASID-cache invalidation is what makes a cleared PASID entry take effect', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    mapPage(r, 0, true, 4);
    r.devs[0]!.dma(5, userVpn(0), false);
    r.tables[0]!.write(5, { ...r.tables[0]!.read(5), present: false, fpd: true });
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit(wait);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 4 });
    r.unit.submit({ kind: 'pc', granularity: 'pasid', did: 2, pasid: 5 });
    r.unit.submit(wait);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 4 });
    r.unit.submit({ kind: 'pc', granularity: 'pasid', did: 1, pasid: 5 });
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 4 });
    r.unit.submit(wait);
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit(wait);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: fault-disabled' });
  });

  test('a domain-selective PASID-cache invalidation drops every PASID of the DID', () => {
    const r = rig({ ats: false });
    bindAll(r, 5);
    bindAll(r, 6);
    bindAll(r, 7, 3);
    for (const p of [5, 6, 7]) r.devs[0]!.dma(p, userVpn(0), false);
    expect(r.unit.pasidCache.size).toBe(3);
    r.unit.submit({ kind: 'pc', granularity: 'domain', did: 1 });
    r.unit.submit(wait);
    expect(r.unit.pasidCache.entries().map((e) => e.pasid)).toEqual([7]);
  });

  test('a devTLB invalidation reaches the ATC with its range, PASID or global', () => {
    const r = rig({ devices: 2 });
    bindAll(r, 5);
    bindAll(r, 6);
    warm(r, 4);
    for (const d of r.devs) d.dma(6, userVpn(0), false);
    // Pages 2 and 3 sit at userVpn(2) and userVpn(2)+1: one 2-page aligned block.
    r.unit.submit({ kind: 'devtlb', sid: 0x100, pasid: 5, global: false, addr: userVpn(2), sizeOrder: 1 });
    r.unit.submit(wait);
    const d0 = r.devs[0]!.atcEntries();
    expect(d0.filter((e) => e.pasid === 5).map((e) => e.vpn)).toEqual([userVpn(0), userVpn(1)]);
    expect(d0.filter((e) => e.pasid === 6)).toHaveLength(1);
    expect(r.devs[1]!.atcEntries()).toHaveLength(5);
    r.unit.submit({ kind: 'devtlb', sid: 0x101, pasid: 0, global: true, addr: 0, sizeOrder: 52 });
    r.unit.submit(wait);
    expect(r.devs[1]!.atcEntries()).toEqual([]);
  });

  test('the ATC survives an IOTLB-only flush and keeps serving stale translations', () => {
    const r = rig();
    bindAll(r, 5);
    mapPage(r, 0, true, 42);
    r.devs[0]!.dma(5, userVpn(0), false);
    r.pt.unmap(userVpn(0));
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit(wait);
    expect(r.unit.iotlb.entries()).toEqual([]);
    expect(r.devs[0]!.dma(5, userVpn(0), false)).toEqual({ ok: true, token: 42 });
    expect(r.devs[0]!.counters.get('atc.hit')).toBe(1);
  });

  test('a devTLB invalidation to a disconnected device hangs the queue with ITE', () => {
    const r = rig({ devices: 2 });
    bindAll(r, 5);
    warm(r, 1);
    r.devs[0]!.disconnected = true;
    r.unit.submit({ kind: 'devtlb', sid: 0x100, pasid: 5, global: false, addr: 0, sizeOrder: 52 });
    r.unit.submit({ kind: 'devtlb', sid: 0x101, pasid: 5, global: false, addr: 0, sizeOrder: 52 });
    r.unit.submit(wait);
    expect(r.unit.ite).toBe(true);
    expect(r.unit.queue.abortedWaits).toBe(1);
    expect(r.unit.queue.completedWaits).toBe(0);
    expect(r.unit.counters.get('qi.ite')).toBe(1);
    // Nothing is fetched while ITE is set.
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    r.unit.submit(wait);
    expect(r.unit.iotlb.entries()).toHaveLength(1);
    expect(r.unit.queue.pendingCount).toBe(2);
    r.unit.clearIte();
    expect(r.unit.ite).toBe(false);
    expect(r.unit.iotlb.entries()).toEqual([]);
    expect(r.unit.queue.completedWaits).toBe(1);
  });

  test('IQT counts slots submitted and IQH slots fetched, modulo QI_LENGTH; a stopped queue leaves IQH after the aborted wait', () => {
    const r = rig();
    bindAll(r, 5);
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 5 });
    expect([r.unit.queue.iqt, r.unit.queue.iqh]).toEqual([1, 0]);
    r.unit.submit(wait);
    expect([r.unit.queue.iqt, r.unit.queue.iqh]).toEqual([2, 2]);
    for (let i = 0; i < QI_LENGTH; i++) r.unit.submit(wait);
    expect([r.unit.queue.iqt, r.unit.queue.iqh]).toEqual([2, 2]);
    r.devs[0]!.surpriseRemove();
    r.unit.submit({ kind: 'devtlb', sid: r.devs[0]!.sid, pasid: 5, global: false, addr: 0, sizeOrder: 52 });
    r.unit.submit(wait);
    r.unit.submit(wait);
    expect(r.unit.ite).toBe(true);
    // Fetching stopped right after the aborted wait (slot 3): the next wait is still queued.
    expect([r.unit.queue.iqt, r.unit.queue.iqh]).toEqual([5, 4]);
  });
});
