import { describe, expect, test } from 'vitest';
import { EventQueue, evtqEntries } from '../../../src/hw/smmuv3/evtq.js';

const stall = (stag: number) => ({ sid: 0, ssv: true, ssid: 1, vpn: stag, read: true, stag });
const fault = (vpn: number) => ({ id: 'F_TRANSLATION' as const, sid: 1, ssv: true, ssid: 1, vpn, read: false });

describe('the SMMUv3 event queue (IHI0070 7.4)', () => {
  test('its size is a power of two: LOG2SIZE', () => {
    expect([1, 2, 3, 16, 17].map(evtqEntries)).toEqual([1, 2, 2, 16, 16]);
    expect(new EventQueue(3).size).toBe(2);
  });

  test('a terminated-transaction record finding the queue full is discarded and toggles OVFLG once, until acknowledged', () => {
    const q = new EventQueue(1);
    expect(q.terminated(fault(1))).toBe(true);
    expect(q.overflowed).toBe(false);
    expect(q.terminated(fault(2))).toBe(false);
    expect(q.terminated(fault(3))).toBe(false);
    expect([q.ovflg, q.overflowed, q.discarded]).toEqual([true, true, 2]);
    q.remove();
    q.ovackflg = q.ovflg;
    expect(q.overflowed).toBe(false);
    expect(q.terminated(fault(4))).toBe(true);
    expect(q.terminated(fault(5))).toBe(false);
    expect([q.ovflg, q.overflowed]).toEqual([false, true]);
  });

  test('a stall record is never discarded: held while the queue is full, written when it is next writable, no overflow', () => {
    const q = new EventQueue(1);
    q.terminated(fault(1));
    q.stall(stall(7));
    q.stall(stall(8));
    expect(q.overflowed).toBe(false);
    expect(q.records.map((r) => r.stall)).toEqual([false]);
    expect(q.length).toBe(2);
    expect(q.stalls.map((s) => s.stag)).toEqual([7, 8]);
    expect(q.remove()!.stall).toBe(false);
    expect(q.records.map((r) => (r.stall ? r.stag : -1))).toEqual([7]);
    expect(q.remove()).toMatchObject({ stall: true, stag: 7 });
    expect(q.remove()).toMatchObject({ stall: true, stag: 8 });
    expect(q.remove()).toBeUndefined();
    expect([...q]).toEqual([]);
  });
});
