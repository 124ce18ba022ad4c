import { describe, expect, test } from 'vitest';
import { HwError } from '../../../src/hw/errors.js';
import { PhysMem } from '../../../src/hw/mem.js';
import { CD_ZERO, SmmuV3 } from '../../../src/hw/smmuv3/index.js';

const unit = (ssidBits = 12, name = 'smmu0'): SmmuV3 => new SmmuV3(name, new PhysMem(), { asidBits: 4, pasidBits: ssidBits, rangeInv: true });

describe('CD table', () => {
  test('a table of at most 1024 CDs is linear and every SSID can be written', () => {
    const t = unit().allocCdTable(10);
    expect(t.format).toBe('linear');
    t.write(1023, { ...CD_ZERO, v: true, asid: 1, levels: 4, ttb0: 7 });
    expect(t.fetch(1023)?.ttb0).toBe(7);
  });

  test('a larger table has two levels whose 1024-entry leaves must be allocated before use', () => {
    const t = unit().allocCdTable(12);
    expect(t.format).toBe('2lvl');
    expect(t.hasLeaf(2048)).toBe(false);
    expect(t.fetch(2048)).toBeUndefined();
    expect(() => t.write(2048, CD_ZERO)).toThrow(HwError);
    t.allocLeaf(2048);
    expect(t.hasLeaf(3071)).toBe(true);
    expect(t.hasLeaf(3072)).toBe(false);
    t.write(3071, { ...CD_ZERO, v: true, asid: 2, epd0: true });
    expect(t.read(3071).asid).toBe(2);
  });

  test('an out-of-range SSID, ASID or S1CDMax is a typed hardware error', () => {
    const u = unit(4);
    expect(() => u.allocCdTable(5)).toThrow(HwError);
    const t = u.allocCdTable(4);
    expect(() => t.write(16, CD_ZERO)).toThrow(/SSID 16 out of range/);
    expect(() => t.write(1, { ...CD_ZERO, v: true, asid: 16, levels: 4 })).toThrow(/ASID 16 out of range/);
    expect(() => t.write(1, { ...CD_ZERO, v: true, asid: 1, levels: 3 })).toThrow(HwError);
  });

  test('a quiet CD (EPD0) needs no TTB0 or T0SZ', () => {
    const t = unit(4).allocCdTable(4);
    t.write(2, { ...CD_ZERO, v: true, epd0: true, asid: 5 });
    expect(t.read(2).epd0).toBe(true);
  });
});

describe('stream table', () => {
  test('every STE starts as abort and a stage-1 STE must point at a CD table of this SMMU', () => {
    const u = unit(4);
    expect(u.streamTable.read(9).config).toBe('abort');
    const other = unit(4, 'smmu1').allocCdTable(4);
    expect(() => u.streamTable.write(9, { v: true, config: 's1', cdTable: other, s1cdmax: 4, s1dss: 'bypass', eats: false })).toThrow(HwError);
    expect(() => u.streamTable.write(9, { v: true, config: 's1', cdTable: undefined, s1cdmax: 4, s1dss: 'bypass', eats: false })).toThrow(HwError);
    expect(() => u.streamTable.read(1 << 16)).toThrow(/SID 65536 out of range/);
  });
});
