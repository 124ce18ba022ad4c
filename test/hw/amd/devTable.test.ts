import { describe, expect, test } from 'vitest';
import { CLEAR_DTE, DevTable, Gcr3Table, type Dte } from '../../../src/hw/amd/index.js';

const gcr3 = new Gcr3Table('amd0', 0);
const sva: Dte = { v: true, tv: true, gv: true, giov: false, glx: 0, gcr3, domid: 3, ppr: true, iotlb: true, gptLevels: 5 };

describe('AMD device table: an entry is two 128-bit halves (48882 §2.2.2; amd/iommu.c update_dte256)', () => {
  test('a fetch between the two stores sees one half new and one old; a complete entry is the object written', () => {
    const t = new DevTable('amd0');
    t.writeUpper128(7, sva);
    expect(t.get(7)).toEqual({ ...CLEAR_DTE, gptLevels: 5 });
    t.writeLower128(7, sva);
    expect(t.get(7)).toBe(sva);
    t.writeLower128(7, { ...CLEAR_DTE, v: true });
    expect(t.get(7)).toEqual({ ...CLEAR_DTE, v: true, gptLevels: 5 });
    expect(t.get(7)).toBe(t.get(7)); // stable between stores: the DTE cache compares by identity
  });

  test('GV without a GCR3 root is refused in the half that holds both', () => {
    const t = new DevTable('amd0');
    expect(() => t.writeLower128(1, { ...sva, gcr3: undefined })).toThrow(/GV without a GCR3/);
    expect(() => t.writeUpper128(1, { ...sva, gcr3: undefined })).not.toThrow();
  });
});
