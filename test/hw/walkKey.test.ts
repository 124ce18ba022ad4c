import { describe, expect, test } from 'vitest';
import { levelPrefix } from '../../src/hw/radix.js';
import { dropOverlapping, walkKey, walkKeyLevel, walkKeyPrefix } from '../../src/hw/walkKey.js';

describe('walk-cache keys', () => {
  test('A key gives back its level and prefix, up to 5-level prefixes', () => {
    for (const [level, prefix] of [[1, 0], [4, 0x1ff], [5, 2 ** 45 / 512 ** 5 - 1], [2, 0xffffc90000000 / 512 ** 2]] as const) {
      const k = walkKey(level, Math.floor(prefix));
      expect([walkKeyLevel(k), walkKeyPrefix(k)]).toEqual([level, Math.floor(prefix)]);
    }
  });

  test('dropOverlapping drops exactly the entries whose span meets the range', () => {
    const vpn = 0x40000 + 3 * 512; // a page in the fourth PTE table of the second GiB
    const m = new Map<number, string>([
      [walkKey(1, levelPrefix(vpn, 1)), 'PTE table of vpn'],
      [walkKey(1, levelPrefix(vpn, 1) + 1), 'next PTE table'],
      [walkKey(2, levelPrefix(vpn, 2)), 'PMD table above it'],
      [walkKey(2, levelPrefix(vpn, 2) + 1), 'another GiB'],
    ]);
    dropOverlapping(m, vpn, 1);
    expect([...m.values()]).toEqual(['next PTE table', 'another GiB']);
    dropOverlapping(m, vpn + 512, 1);
    expect([...m.values()]).toEqual(['another GiB']);
  });
});
