import { describe, expect, test } from 'vitest';
import { DMA_PENDING, PciDevice } from '../../src/hw/device.js';
import type { IommuUnit, PageRequestOutcome, Translation } from '../../src/hw/iommu.js';
import { PhysMem } from '../../src/hw/mem.js';
import { Counters } from '../../src/hw/counters.js';
import { PRI_CREDITS } from '../../src/shared/index.js';

/** A unit whose translation is a switch and that accepts every page request (root 42). */
class FakeUnit implements IommuUnit {
  readonly name = 'fake0';
  readonly counters = new Counters();
  frame = -1;
  requests: number[] = [];
  lasts: boolean[] = [];
  /** Requests accepted before the queue is full (then dropped). */
  room = Infinity;
  translate(): Translation {
    return this.frame < 0 ? { ok: false, fault: 'not-present' } : { ok: true, frame: this.frame, write: true };
  }
  pageRequest(_d: PciDevice, _p: number, _v: number, _w: boolean, prgi: number, last: boolean): PageRequestOutcome {
    if (this.room-- <= 0) return { root: 42, dropped: true };
    this.requests.push(prgi);
    this.lasts.push(last);
    return { root: 42, dropped: false };
  }
  markers: number[] = [];
  stopMarker(_d: PciDevice, pasid: number): 'queued' {
    this.markers.push(pasid);
    return 'queued';
  }
}

const setup = (pri = true) => {
  const mem = new PhysMem();
  const unit = new FakeUnit();
  return { mem, unit, dev: new PciDevice(0, 0, unit, 5, true, pri, mem) };
};

describe('PRI endpoint', () => {
  test('a miss becomes a page request until the credits run out, each with its own PRG index', () => {
    const { unit, dev } = setup();
    for (let i = 0; i < PRI_CREDITS; i++) expect(dev.dma(1, 0x40000 + i, false)).toBe(DMA_PENDING);
    expect(dev.dma(1, 0x40100, false)).toEqual({ ok: false, fault: 'PRI: no outstanding page request credit' });
    expect(unit.requests).toEqual([0, 1]);
    expect(dev.priState!.outstanding.map((r) => [r.prgi, r.root])).toEqual([[0, 42], [1, 42]]);
  });

  test('a device without PRI faults on a miss and sends nothing', () => {
    const { unit, dev } = setup(false);
    expect(dev.dma(1, 0x40000, false)).toEqual({ ok: false, fault: 'fake0: not-present' });
    expect(unit.requests).toEqual([]);
  });

  test('a Success response frees the credit and the retry reads the page; Invalid ends the access', () => {
    const { mem, unit, dev } = setup();
    dev.dma(1, 0x40000, false);
    dev.dma(1, 0x40001, true);
    unit.frame = mem.alloc('data', 0, 77);
    dev.pageResponse(1, 0, 'success');
    dev.pageResponse(1, 1, 'invalid');
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.completions.map((c) => [c.code, c.ok, c.token])).toEqual([['success', true, 77], ['invalid', false, -1]]);
    expect(dev.atcEntries()).toHaveLength(1);
  });

  test('a response to a request that is not outstanding is a logged protocol error, not ignored', () => {
    const { dev } = setup();
    dev.dma(1, 0x40000, false);
    dev.pageResponse(2, 0, 'success'); // wrong PASID
    dev.pageResponse(1, 5, 'success'); // unknown PRG
    expect(dev.priState!.protocolErrors).toHaveLength(2);
    expect(dev.counters.get('pri.stray_response')).toBe(2);
    expect(dev.priState!.outstanding).toHaveLength(1);
  });

  test('a Page Request Group: one PRG index, LAST on the final request, credits for all or none', () => {
    const { unit, dev } = setup();
    expect(dev.pageRequestGroup(1, [0x40000, 0x40001], false)).toBe(DMA_PENDING);
    expect(unit.requests).toEqual([0, 0]);
    expect(unit.lasts).toEqual([false, true]);
    // No credit left for another group of two: nothing is sent.
    expect(dev.pageRequestGroup(1, [0x40002], false)).toEqual({ ok: false, fault: 'PRI: no outstanding page request credit' });
    expect(unit.requests.length).toBe(2);
  });

  test('a unit that retries a resumed access itself (SMMUv3) stalls it again on a recoverable fault; an endpoint retry that fails is over', () => {
    for (const stallsRetries of [true, false]) {
      const mem = new PhysMem();
      const unit = Object.assign(new FakeUnit(), { stallsRetries });
      const dev = new PciDevice(0, 0, unit, 5, false, true, mem);
      dev.dma(1, 0x40000, true);
      // Success, but the translation still faults (a stale read-only TLB entry, say).
      dev.pageResponse(1, 0, 'success');
      if (stallsRetries) {
        expect(unit.requests).toEqual([0, 0]);
        expect(dev.priState!.outstanding).toHaveLength(1);
        expect(dev.priState!.completions).toEqual([]);
        expect(dev.counters.get('pri.restall')).toBe(1);
        unit.frame = mem.alloc('data', 0, 77);
        dev.pageResponse(1, 0, 'success');
        expect(dev.priState!.completions.map((c) => [c.ok, c.token])).toEqual([[true, 77]]);
      } else {
        expect(unit.requests).toEqual([0]);
        expect(dev.priState!.outstanding).toEqual([]);
        expect(dev.priState!.completions.map((c) => c.ok)).toEqual([false]);
      }
    }
  });

  test('a device its driver stopped at a PASID sends no group there until the unbind returns; other PASIDs are unaffected', () => {
    const { unit, dev } = setup();
    dev.stopPasid(1);
    expect(dev.pageRequestGroup(1, [0x40000], false)).toEqual({ ok: false, fault: 'dev0: stopped' });
    expect(unit.requests).toEqual([]);
    expect(dev.pageRequestGroup(2, [0x40000], false)).toBe(DMA_PENDING);
    dev.resumePasid(1);
    expect(dev.pageRequestGroup(1, [0x40001], false)).toBe(DMA_PENDING);
    expect(unit.requests.length).toBe(2);
  });

  test('one response answers the whole group; a second names nothing outstanding and is a protocol error', () => {
    const { mem, unit, dev } = setup();
    dev.pageRequestGroup(1, [0x40000, 0x40001], false);
    unit.frame = mem.alloc('data', 0, 77);
    dev.pageResponse(1, 0, 'success');
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.completions.map((c) => [c.vpn, c.ok, c.token])).toEqual([[0x40000, true, 77], [0x40001, true, 77]]);
    dev.pageResponse(1, 0, 'invalid');
    expect(dev.priState!.protocolErrors).toEqual(['dev0: invalid response to PRG 0 PASID 1 with no such request outstanding']);
  });

  test('a request without a PASID is answered on the RID and has nothing to retry', () => {
    const { mem, unit, dev } = setup();
    dev.pageRequestGroup(-1, [0x40000], true);
    unit.frame = mem.alloc('data', 0, 77);
    dev.pageResponse(1, 0, 'success');
    expect(dev.priState!.protocolErrors.length).toBe(1);
    dev.pageResponse(-1, 0, 'success');
    expect(dev.priState!.completions).toMatchObject([{ pasid: -1, ok: false, token: -1 }]);
  });

  test('a LAST the IOMMU drops on a full queue is answered Success at once: the device retries', () => {
    const { unit, dev } = setup();
    unit.room = 1;
    expect(dev.pageRequestGroup(1, [0x40000, 0x40001], false)).toBe(DMA_PENDING);
    expect(unit.requests).toEqual([0]);
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.completions.map((c) => [c.code, c.ok])).toEqual([['success', false], ['success', false]]);
  });

  test('a Response Failure disables PRI at the function: later misses fault instead of sending requests', () => {
    const { unit, dev } = setup();
    dev.dma(1, 0x40000, false);
    dev.pageResponse(1, 0, 'failure');
    expect(dev.priState!.responseFailure).toBe(true);
    expect(dev.dma(1, 0x40001, false)).toEqual({ ok: false, fault: 'fake0: not-present' });
    expect(unit.requests).toEqual([0]);
  });

  test('a group held open is continued by the next requests on its PASID, and abandoned when the device stops the PASID', () => {
    const { unit, dev } = setup();
    dev.pageRequestGroup(1, [0x40000], false, false);
    expect(dev.priState!.openPrgi(1)).toBe(0);
    dev.pageRequestGroup(2, [0x50000], false);
    dev.stopPasid(1);
    expect(dev.priState!.outstanding.map((r) => [r.pasid, r.prgi])).toEqual([[2, 1]]);
    expect(unit.lasts).toEqual([false, true]);
  });

  test('the LAST sent later closes the open group: one PRG index for all its requests', () => {
    const { unit, dev } = setup();
    dev.pageRequestGroup(1, [0x40000], false, false);
    dev.pageRequestGroup(1, [0x40001], false, true);
    expect(unit.requests).toEqual([0, 0]);
    expect(unit.lasts).toEqual([false, true]);
    expect(dev.priState!.openPrgi(1)).toBe(-1);
  });

  test('a Stop Marker takes no credit and marks the PASID\'s outstanding requests stale: their Success is not retried, other PASIDs\' still is', () => {
    const { mem, unit, dev } = setup();
    dev.dma(1, 0x40000, false);
    dev.dma(2, 0x40000, false);
    expect(dev.stopMarker(1)).toBe('queued');
    expect(unit.markers).toEqual([1]);
    // Both credits are still held by the two requests; the marker holds none.
    expect(dev.priState!.outstanding.map((r) => [r.pasid, r.stale ?? false])).toEqual([[1, true], [2, false]]);
    unit.frame = mem.alloc('data', 0, 7);
    dev.pageResponse(1, 0, 'success');
    dev.pageResponse(2, 1, 'success');
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.protocolErrors).toEqual([]);
    expect(dev.priState!.completions.map((c) => [c.pasid, c.ok])).toEqual([[1, false], [2, true]]);
    // A later request on PASID 1 is a new use of it: not stale.
    unit.frame = -1;
    expect(dev.dma(1, 0x40001, false)).toBe(DMA_PENDING);
    expect(dev.priState!.outstanding.map((r) => r.stale ?? false)).toEqual([false]);
  });

  test('a Stop Marker with a group still open is the caller\'s error (PCIe: groups are finished first); none is sent without PRI or after a Response Failure', () => {
    const { unit, dev } = setup();
    dev.pageRequestGroup(1, [0x40000], false, false);
    expect(() => dev.stopMarker(1)).toThrow(/PRG 0 still open/);
    expect(() => setup(false).dev.stopMarker(1)).toThrow(/without PRI/);
    dev.pageResponse(1, 0, 'failure');
    expect(dev.stopMarker(2)).toBeUndefined();
    expect(unit.markers).toEqual([]);
  });

  test('a Success response to a surprise-removed endpoint is lost: no retry, nothing cached, the access failed', () => {
    const { mem, unit, dev } = setup();
    expect(dev.dma(1, 0x40000, false)).toBe(DMA_PENDING);
    unit.frame = mem.alloc('data', 0, 7);
    dev.surpriseRemove();
    dev.pageResponse(1, 0, 'success');
    expect(dev.priState!.outstanding).toEqual([]);
    expect(dev.priState!.completions.map((c) => [c.code, c.ok, c.token])).toEqual([['success', false, -1]]);
    expect(dev.atcEntries()).toEqual([]);
  });
});
