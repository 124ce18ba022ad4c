import { describe, expect, test } from 'vitest';
import { checkedStep, driverFor, openSession } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { withoutWholeRangeFlush } from './brokenDriver.js';

/**
 * A whole-range secondary-TLB flush (0, -1) switched off: x86's batched unmap of a migration
 * is its most common source. With a translation cached in the IOTLB and the ATC, the step
 * leaves stale data that I6 names, besides the wrong count (I12) and range (I14); B61
 * (test/faults/B61.test.ts) is the case where only the data shows (a flush of the right
 * count and range that misses the ATC), and the default run finds it through I6.
 */
const SEQ: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
  { kind: 'migrate', mm: 0, page: 0 },
];

describe('A driver that drops whole-range flushes', () => {
  test('leaves the migrated page\'s old frame in the IOTLB and the ATC: I6 fires at the migration', () => {
    const s = openSession(defaultTopology('vtd'), { driver: withoutWholeRangeFlush(driverFor('vtd')) });
    const found = SEQ.map((c) => checkedStep(s, c).map((v) => v.invariant));
    expect(found.slice(0, 5).flat()).toEqual([]);
    expect(found[5]).toContain('I6');
    const stale = checkedStep(s, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    expect(stale.map((v) => v.invariant)).toContain('I-UAF-DMA');
  });

  test('the correct driver flushes both at the migration', () => {
    const s = openSession(defaultTopology('vtd'));
    for (const c of SEQ) expect(checkedStep(s, c)).toEqual([]);
  });
});
