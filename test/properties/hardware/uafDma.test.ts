import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { uafDma } from '../../../properties/hardware/uafDma.js';
import { bench, holdsOnRandomWalks, ids, muteNotifier, setup } from './helpers.js';

const dma = (dev: number, mm: number, page: number, write = false) => ({ kind: 'dma', dev, mm, page, write }) as const;

describe('I-UAF-DMA no DMA to a freed or foreign frame', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(uafDma, platform);
  });

  test.each(PLATFORMS)('fires when a DMA reaches a frame freed by munmap on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    expect(b.check(uafDma)).toEqual([]);
    muteNotifier(b, 0, 'arch_invalidate_secondary_tlbs');
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 }, dma(0, 0, 0));
    const v = b.check(uafDma);
    expect(ids(v)).toEqual(['I-UAF-DMA']);
    expect(v.map((x) => x.message)).toEqual([expect.stringContaining('which is free or a page table')]);
  });

  test.each(PLATFORMS)("fires when the freed frame now holds another mm's page on %s", (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run({ kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 2, count: 2, prot: 'rw' }, { kind: 'touch', mm: 1, page: 2, write: true });
    b.run(dma(0, 0, 0));
    muteNotifier(b, 0, 'arch_invalidate_secondary_tlbs');
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    // LIFO reuse: page 3 shares page 2's table, so its new frame is the one the stale entry names.
    b.run({ kind: 'touch', mm: 1, page: 3, write: true }, dma(0, 0, 0));
    expect(b.check(uafDma).map((x) => x.message)).toEqual([expect.stringContaining('reached a frame of mm slot 1')]);
  });
});
