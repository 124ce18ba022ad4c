import { describe, expect, test } from 'vitest';
import { LogRing } from '../../../src/hw/amd/logs.js';

describe('an AMD log ring (48882 §2.6.2, MMIO status 2020h)', () => {
  test('an entry finding the ring full is discarded, sets the overflow and stops logging; nothing is logged until a restart', () => {
    const r = new LogRing<number>(1);
    expect(r.append(1)).toBe(true);
    expect(r.interrupt).toBe(true);
    expect(r.append(2)).toBe(false);
    expect([r.overflow, r.running, r.halted]).toEqual([true, false, true]);
    r.consumeAll();
    r.clearStatus(true, true);
    // Overflow cleared but logging not enabled again: still stopped.
    expect(r.append(3)).toBe(false);
    expect(r.halted).toBe(true);
    r.setEnabled(true);
    expect(r.append(4)).toBe(true);
    expect(r.pending).toEqual([4]);
    expect(r.halted).toBe(false);
  });

  test('shift takes the head entry only', () => {
    const r = new LogRing<number>(4);
    r.append(1);
    r.append(2);
    expect(r.shift()).toBe(1);
    expect(r.pending).toEqual([2]);
  });
});
