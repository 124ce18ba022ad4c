import { describe, expect, test } from 'vitest';
import { HwError } from '../../src/hw/errors.js';
import { PhysMem, PTE_P, PTE_U, PTE_W, pteFrame } from '../../src/hw/mem.js';
import { Radix, levelIndex, levelPrefix, levelSpan } from '../../src/hw/radix.js';

const tree = (levels: number): { m: PhysMem; r: Radix } => {
  const m = new PhysMem();
  return { m, r: new Radix(m, m.alloc('table', 3), levels, 3) };
};

/** A 4-level tree of owner 3 whose root entry 1 points at a 3-level table of owner -1 (a shared kernel half) mapping vpn 7. */
const withSharedHalf = (): { m: PhysMem; shared: Radix; r: Radix } => {
  const m = new PhysMem();
  const shared = new Radix(m, m.alloc('table', -1), 3, -1);
  const r = new Radix(m, m.alloc('table', 3), 4, 3);
  shared.map(7, m.alloc('data', -1), true);
  m.setEntry(r.root, 1, (shared.root << 3) | PTE_P | PTE_W);
  return { m, shared, r };
};

describe('Radix', () => {
  test('levelIndex, levelPrefix and levelSpan split a vpn 9 bits per level, beyond 32 bits', () => {
    const vpn = 0x1_2345_6789_a; // > 2^32
    expect(levelIndex(vpn, 1)).toBe(vpn % 512);
    expect(levelIndex(vpn, 5)).toBe(Math.floor(vpn / 512 ** 4) % 512);
    expect(levelPrefix(vpn, 1)).toBe(Math.floor(vpn / 512));
    expect(levelPrefix(vpn, 4)).toBe(Math.floor(vpn / 512 ** 4));
    expect(levelSpan(1)).toBe(1);
    expect(levelSpan(3)).toBe(512 * 512);
  });

  test.each([2, 3, 4, 5])('map and lookup walk all %i levels, allocating the tables on the path', (levels) => {
    const { m, r } = tree(levels);
    const vpn = 512 ** (levels - 1) + 3;
    const f = m.alloc('data', 3, 7);
    r.map(vpn, f, false);
    expect(m.liveFrames('table')).toHaveLength(levels);
    const e = r.lookup(vpn);
    expect(pteFrame(e)).toBe(f);
    expect(e & (PTE_P | PTE_U | PTE_W)).toBe(PTE_P | PTE_U);
    expect(r.lookup(vpn + 1)).toBe(0);
  });

  test('setWrite changes only a present leaf', () => {
    const { m, r } = tree(4);
    r.map(10, m.alloc('data', 3), false);
    expect(r.setWrite(10, true)).toBe(true);
    expect(r.lookup(10) & PTE_W).toBe(PTE_W);
    expect(r.setWrite(11, true)).toBe(false);
    expect(r.setWrite(1 << 20, true)).toBe(false);
  });

  test('mapping a mapped vpn is a HwError', () => {
    const { m, r } = tree(4);
    r.map(10, m.alloc('data', 3), true);
    expect(() => r.map(10, m.alloc('data', 3), true)).toThrow(HwError);
  });

  test('page-table pages are freed bottom-up only when their range empties, never the root', () => {
    const { m, r } = tree(4);
    r.map(0, m.alloc('data', 3), true);
    r.map(1, m.alloc('data', 3), true);
    r.map(512 * 512, m.alloc('data', 3), true); // another PMD-level subtree under the same PUD
    r.unmap(0);
    expect(r.freeEmptyTables(0)).toEqual([]);
    r.unmap(1);
    const freed = r.freeEmptyTables(1);
    expect(freed).toHaveLength(2); // the PTE table and its PMD; the PUD still maps 512*512
    expect(freed.every((f) => m.kind(f) === 'free')).toBe(true);
    r.unmap(512 * 512);
    expect(r.freeEmptyTables(512 * 512)).toHaveLength(3);
    expect(m.liveFrames('table')).toEqual([r.root]);
  });

  test('the freed page-table pages are the next frames handed out, zeroed', () => {
    const { m, r } = tree(3);
    r.map(5, m.alloc('data', 3, 1), true);
    r.unmap(5);
    const freed = r.freeEmptyTables(5); // [PTE table, PMD table]
    expect(freed).toHaveLength(2);
    const again = m.alloc('table', 4);
    expect(again).toBe(freed[1]);
    expect(m.usedEntries(again)).toBe(0);
    expect(m.alloc('data', 4)).toBe(freed[0]);
  });

  test('tables of another owner are never freed', () => {
    const { m, shared, r } = withSharedHalf();
    shared.unmap(7);
    expect(r.freeEmptyTables(512 ** 3 + 7)).toEqual([]);
    expect(m.kind(shared.root)).toBe('table');
  });

  test('freeTables frees every table of the tree, children before their parent, the root last, and no leaf frame', () => {
    const { m, r } = tree(3);
    const a = m.alloc('data', 3);
    const b = m.alloc('data', 3);
    r.map(5, a, true);
    r.map(512 * 512 + 9, b, false);
    const freed = r.freeTables();
    // Root, then two paths of two tables below it: five tables, the root freed last.
    expect(freed).toHaveLength(5);
    expect(freed.at(-1)).toBe(r.root);
    for (const f of freed) expect(m.kind(f)).toBe('free');
    expect([m.kind(a), m.kind(b)]).toEqual(['data', 'data']);
    // A freed table keeps its entries for a stale walker.
    expect(pteFrame(m.hwEntry(r.root, 0, 'test'))).toBe(freed[1]);
  });

  test('freeTables leaves a table of another owner (the shared kernel half) alone', () => {
    const { m, shared, r } = withSharedHalf();
    expect(r.freeTables()).toEqual([r.root]);
    expect(m.kind(shared.root)).toBe('table');
  });
});
