import { describe, expect, test } from 'vitest';
import { Counters } from '../../src/hw/counters.js';
import { PciDevice } from '../../src/hw/device.js';
import { HwError } from '../../src/hw/errors.js';
import type { IommuUnit, Translation } from '../../src/hw/iommu.js';
import { PhysMem } from '../../src/hw/mem.js';
import { userVpn } from '../../src/shared/index.js';
import { bindAll, mapPage, rig, wait } from './vtd/fixture.js';

/** An IOMMU stub that answers from a table and counts its translations. */
const stub = (answers: Map<number, Translation>): IommuUnit & { calls: number } => ({
  name: 'iommu', counters: new Counters(), calls: 0,
  translate(_d, _p, vpn, write) {
    this.calls++;
    const t = answers.get(vpn);
    if (t === undefined) return { ok: false, fault: 'not-present' };
    return t.ok && write && !t.write ? { ok: false, fault: 'no-permission' } : t;
  },
});

const setup = (ats = true) => {
  const mem = new PhysMem();
  const frames = [0, 1, 2, 3].map((i) => mem.alloc('data', 0, 100 + i));
  const answers = new Map<number, Translation>(frames.map((f, i) => [10 + i, { ok: true, frame: f, write: i !== 3 }]));
  const iommu = stub(answers);
  const dev = new PciDevice(0, 0x10, iommu, 5, ats, false, mem);
  return { mem, answers, iommu, dev };
};

describe('PciDevice', () => {
  test('an ATS device misses once, then hits its ATC', () => {
    const { iommu, dev } = setup();
    expect(dev.dma(1, 10, false)).toEqual({ ok: true, token: 100 });
    expect(dev.dma(1, 10, true)).toEqual({ ok: true, token: 100 });
    expect(iommu.calls).toBe(1);
    expect(dev.counters.snapshot()).toEqual({ 'atc.hit': 1, 'atc.miss': 1 });
  });

  test('a device without ATS asks the IOMMU every time and caches nothing', () => {
    const { iommu, dev } = setup(false);
    dev.dma(1, 10, false);
    dev.dma(1, 10, false);
    expect(iommu.calls).toBe(2);
    expect(dev.atcEntries()).toEqual([]);
  });

  test('a cached entry without write permission makes a write send a fresh translation request', () => {
    const { iommu, dev, answers, mem } = setup();
    dev.dma(1, 13, false);
    expect(dev.dma(1, 13, true)).toEqual({ ok: false, fault: 'iommu: no-permission' });
    answers.set(13, { ok: true, frame: mem.alloc('data', 0, 555), write: true });
    expect(dev.dma(1, 13, true)).toEqual({ ok: true, token: 555 });
    expect(iommu.calls).toBe(3);
  });

  test('atcInvalidate drops exactly its PASID and range, or every PASID', () => {
    const { dev } = setup();
    for (const pasid of [1, 2]) for (const vpn of [10, 11, 12, 13]) dev.prefetch(pasid, vpn);
    dev.atcInvalidate(1, 11, 2);
    expect(dev.atcEntries().filter((e) => e.pasid === 1).map((e) => e.vpn)).toEqual([10, 13]);
    dev.atcInvalidate(2, 0, Infinity);
    expect(dev.atcEntries().map((e) => [e.pasid, e.vpn])).toEqual([[1, 10], [1, 13]]);
    dev.atcInvalidate(undefined, 13, 1);
    expect(dev.atcEntries().map((e) => e.vpn)).toEqual([10]);
    expect(dev.counters.get('atc.inv')).toBe(3);
  });

  test('prefetch fills the ATC of an ATS device and a stale entry then serves reused memory', () => {
    const { dev, answers, mem } = setup();
    dev.prefetch(1, 10);
    const f = (answers.get(10) as { frame: number }).frame;
    answers.delete(10);
    mem.free(f);
    mem.alloc('data', 7, 999);
    expect(dev.dma(1, 10, false)).toEqual({ ok: true, token: 999 });
  });

  test('a PASID beyond the device capability faults; beyond 20 bits is a HwError', () => {
    const { dev } = setup();
    expect(dev.dma(32, 10, false)).toEqual({ ok: false, fault: 'dev0: no-pasid-cap' });
    expect(() => dev.dma(2 ** 20, 10, false)).toThrow(HwError);
    expect(dev.maxPasids).toBe(32);
  });
});

describe('PciDevice behind a VT-d unit', () => {
  test('the ATC survives an IOTLB-only flush; only a devTLB invalidation empties it', () => {
    const r = rig();
    bindAll(r, 3);
    mapPage(r, 0, true, 64);
    const dev = r.devs[0]!;
    dev.dma(3, userVpn(0), false);
    r.pt.unmap(userVpn(0));
    r.unit.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 3 });
    r.unit.submit(wait);
    expect(dev.dma(3, userVpn(0), false)).toEqual({ ok: true, token: 64 });
    r.unit.submit({ kind: 'devtlb', sid: dev.sid, pasid: 3, global: false, addr: userVpn(0), sizeOrder: 0 });
    expect(dev.dma(3, userVpn(0), false)).toEqual({ ok: true, token: 64 });
    r.unit.submit(wait);
    expect(dev.dma(3, userVpn(0), false)).toEqual({ ok: false, fault: 'vtd0: not-present' });
  });
});
