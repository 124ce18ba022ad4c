import { describe, expect, test } from 'vitest';
import { PageRequestQueue, isStopMarker, type PageRequest } from '../../../src/hw/vtd/prq.js';

const req = (prgi: number, over: Partial<PageRequest> = {}): PageRequest =>
  ({ sid: 0, pasidPresent: true, pasid: 1, vpn: 0x40000, write: false, lpig: true, prgi, ...over });

describe('VT-d page request queue', () => {
  test('a full ring drops the request and sets PRO; software clears PRO', () => {
    const q = new PageRequestQueue(2);
    expect(q.append(req(0))).toBe(true);
    expect(q.append(req(1))).toBe(true);
    expect(q.overflow).toBe(false);
    expect(q.append(req(2))).toBe(false);
    expect(q.overflow).toBe(true);
    expect(q.pending.map((r) => r.prgi)).toEqual([0, 1]);
    expect(q.consumeAll().length).toBe(2);
    expect(q.append(req(3))).toBe(true);
  });

  test('the drain matches a request by source id and PASID, and a PASID-less one as PASID 0 (the RID)', () => {
    const q = new PageRequestQueue();
    q.append(req(0, { sid: 3, pasid: 5 }));
    q.append(req(1, { sid: 4, pasidPresent: false, pasid: 0 }));
    expect(q.hasPending(3, 5)).toBe(true);
    expect(q.hasPending(4, 5)).toBe(false);
    expect(q.hasPending(3, 0)).toBe(false);
    expect(q.hasPending(4, 0)).toBe(true);
  });

  test('a Stop Marker takes a slot like a request; on a full ring it is dropped silently, PRO untouched (ecap SMS = 1)', () => {
    const q = new PageRequestQueue(1);
    const marker = req(0, { vpn: 0, read: false, write: false });
    expect(q.appendStopMarker(marker)).toBe(true);
    expect(q.appendStopMarker(marker)).toBe(false);
    expect(q.overflow).toBe(false);
    expect(q.append(req(1))).toBe(false);
    expect(q.overflow).toBe(true);
    expect(q.pending).toEqual([marker]);
  });

  test('L = 1 with R = W = 0 is a Stop Marker; a read or write LAST, or a non-last request, is not; the drain waits on one like any descriptor of (RID, PASID)', () => {
    expect(isStopMarker(req(0, { read: false, write: false }))).toBe(true);
    expect(isStopMarker(req(0))).toBe(false);
    expect(isStopMarker(req(0, { read: false, write: true }))).toBe(false);
    expect(isStopMarker(req(0, { read: false, write: false, lpig: false }))).toBe(false);
    const q = new PageRequestQueue();
    q.appendStopMarker(req(0, { sid: 3, pasid: 5, read: false, write: false }));
    expect(q.hasPending(3, 5)).toBe(true);
    expect(q.hasPending(3, 6)).toBe(false);
  });
});
