import { describe, expect, test } from 'vitest';
import { NONE_USED, afterCommand, representative, symmetryOf } from '../../src/explore/index.js';
import type { Topology } from '../../src/shared/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { bind, fork, spawn } from '../commands.js';

const t: Topology = {
  ...defaultTopology('vtd'),
  iommus: [defaultTopology('vtd').iommus[0]!],
  devices: [
    { iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false },
    { iommu: 0, group: 1, pasidBits: 20, ats: true, pri: false },
    { iommu: 0, group: 2, pasidBits: 20, ats: false, pri: false },
    { iommu: 0, group: 3, pasidBits: 20, ats: true, pri: false },
    { iommu: 0, group: 3, pasidBits: 20, ats: true, pri: false },
  ],
  mms: 3,
};

describe('Symmetry by first use', () => {
  const sym = symmetryOf(t);

  test('Devices are interchangeable only with the same IOMMU, capabilities and a group of their own', () => {
    expect(sym.devClass[0]).toBe(sym.devClass[1]);
    expect(sym.devClass[2]).not.toBe(sym.devClass[0]);
    expect(sym.devClass[3]).toBe(-1);
    expect(sym.devClass[4]).toBe(-1);
  });

  test('Among fresh mm slots only the lowest is explored; a used one is always explored', () => {
    expect(representative(sym, NONE_USED, spawn(0))).toBe(true);
    expect(representative(sym, NONE_USED, spawn(1))).toBe(false);
    const used = afterCommand(NONE_USED, spawn(0));
    expect(representative(sym, used, spawn(1))).toBe(true);
    expect(representative(sym, used, spawn(2))).toBe(false);
    expect(representative(sym, used, fork(0, 1))).toBe(true);
    expect(representative(sym, used, fork(0, 2))).toBe(false);
  });

  test('Fresh devices: the lowest of each class; devices without a class always', () => {
    const used = afterCommand(NONE_USED, spawn(0));
    expect(representative(sym, used, bind(0, 0))).toBe(true);
    expect(representative(sym, used, bind(1, 0))).toBe(false);
    expect(representative(sym, used, bind(2, 0))).toBe(true);
    expect(representative(sym, used, bind(4, 0))).toBe(true);
    expect(representative(sym, afterCommand(used, bind(0, 0)), bind(1, 0))).toBe(true);
  });
});
