import { describe, expect, test } from 'vitest';
import { HwError } from '../../src/hw/errors.js';
import { KERNEL_OWNER, PhysMem, makePte, pteFrame, PTE_P, PTE_W } from '../../src/hw/mem.js';

describe('PhysMem', () => {
  test('freed frames are reused last-in first-out', () => {
    const m = new PhysMem();
    const [a, b, c] = [m.alloc('data', 0, 1), m.alloc('data', 0, 2), m.alloc('data', 0, 3)];
    m.free(a);
    m.free(c);
    expect(m.alloc('data', 1, 9)).toBe(c);
    expect(m.alloc('data', 1, 9)).toBe(a);
    expect(m.alloc('data', 1, 9)).toBe(m.frameCount - 1);
    expect(m.owner(b)).toBe(0);
  });

  test('a reused frame carries its new owner and token, so a stale reader sees somebody else', () => {
    const m = new PhysMem();
    const f = m.alloc('data', 0, 100);
    m.free(f);
    expect(m.token(f)).toBe(100);
    m.alloc('data', 2, 200);
    expect(m.hwAccess(f, 'dev0')).toBe(200);
    expect(m.owner(f)).toBe(2);
  });

  test('table frames start zeroed and track their used entries', () => {
    const m = new PhysMem();
    const t = m.alloc('table', KERNEL_OWNER);
    expect(m.entry(t, 7)).toBe(0);
    m.setEntry(t, 7, makePte(5, PTE_P | PTE_W));
    m.setEntry(t, 8, makePte(6, PTE_P));
    expect(m.usedEntries(t)).toBe(2);
    m.setEntry(t, 7, makePte(9, PTE_P));
    expect(m.usedEntries(t)).toBe(2);
    m.setEntry(t, 7, 0);
    expect(m.usedEntries(t)).toBe(1);
    expect(pteFrame(m.entry(t, 8))).toBe(6);
  });

  test('a hardware read of a freed table returns its stale entries and logs the anomaly', () => {
    const m = new PhysMem();
    const t = m.alloc('table', 0);
    m.setEntry(t, 1, makePte(42, PTE_P));
    m.free(t);
    expect(() => m.entry(t, 1)).toThrow(HwError);
    expect(pteFrame(m.hwEntry(t, 1, 'vtd0'))).toBe(42);
    expect(m.takeAnomalies()).toEqual([{ kind: 'walk-freed-table', frame: t, by: 'vtd0' }]);
    expect(m.anomalies).toEqual([]);
  });

  test('a hardware walk into a data frame reads nothing and logs walk-non-table', () => {
    const m = new PhysMem();
    const d = m.alloc('data', 0, 5);
    expect(m.hwEntry(d, 0, 'smmu0')).toBe(0);
    expect(m.takeAnomalies()[0]!.kind).toBe('walk-non-table');
  });

  test('a DMA to a freed frame or a table is logged', () => {
    const m = new PhysMem();
    const d = m.alloc('data', 0, 5);
    const t = m.alloc('table', 0);
    m.free(d);
    expect(m.hwAccess(d, 'dev1')).toBe(5);
    m.hwAccess(t, 'dev1');
    expect(m.takeAnomalies().map((a) => a.kind)).toEqual(['dma-freed-frame', 'dma-freed-frame']);
  });

  test('bad frames and double frees are HwErrors', () => {
    const m = new PhysMem();
    const d = m.alloc('data', 0);
    m.free(d);
    expect(() => m.free(d)).toThrow(/double free/);
    expect(() => m.token(99)).toThrow(HwError);
    expect(() => m.setEntry(m.alloc('data', 0), 0, 1)).toThrow(/not a live page table/);
  });

  test('liveFrames lists the allocated frames of a kind', () => {
    const m = new PhysMem();
    const a = m.alloc('data', 0);
    const t = m.alloc('table', 0);
    m.alloc('data', 0);
    m.free(a);
    expect(m.liveFrames('table')).toEqual([t]);
    expect(m.liveFrames('data')).toEqual([2]);
  });

  test('a shared frame is freed only at its last put, whoever allocated it', () => {
    const m = new PhysMem();
    const f = m.alloc('data', 0, 7);
    m.get(f, 1);
    m.get(f, 2);
    expect(m.refCount(f)).toBe(3);
    expect(m.owners(f)).toEqual([0, 1, 2]);
    expect(m.put(f, 0)).toBe(false);
    expect(m.owner(f)).toBe(1);
    expect(m.put(f, 2)).toBe(false);
    expect(m.kind(f)).toBe('data');
    expect(m.put(f, 1)).toBe(true);
    expect(m.kind(f)).toBe('free');
    expect(m.refCount(f)).toBe(0);
  });

  test('freeing a shared frame, a put by an owner without a reference, or sharing a table is a hardware-model error', () => {
    const m = new PhysMem();
    const f = m.alloc('data', 0, 7);
    m.get(f, 1);
    expect(() => m.free(f)).toThrow(/still shared/);
    expect(() => m.put(f, 3)).toThrow(/holds no reference/);
    const t = m.alloc('table', 0);
    expect(() => m.get(t, 1)).toThrow(HwError);
    m.put(f, 0);
    m.put(f, 1);
    expect(() => m.put(f, 1)).toThrow(/holds no reference/);
  });

  test('PageAnonExclusive is per frame and cleared when the frame is reused', () => {
    const m = new PhysMem();
    const f = m.alloc('data', 0, 7);
    expect(m.anonExclusive(f)).toBe(false);
    m.setAnonExclusive(f, true);
    expect(m.anonExclusive(f)).toBe(true);
    m.put(f, 0);
    expect(m.alloc('data', 1, 8)).toBe(f);
    expect(m.anonExclusive(f)).toBe(false);
    expect(m.owners(f)).toEqual([1]);
  });
});
