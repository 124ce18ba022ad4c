import fc from 'fast-check';
import { FAIL_SITES } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/** Any command over a topology's ids (legal or not): the test filters with precondition. */
export const anyCommand = (t: Topology): fc.Arbitrary<Command> => {
  const dev = fc.integer({ min: 0, max: t.devices.length - 1 });
  const mm = fc.integer({ min: 0, max: t.mms - 1 });
  const page = fc.integer({ min: 0, max: t.pages - 1 });
  const kpage = fc.integer({ min: 0, max: Math.max(0, t.kpages - 1) });
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('bind' as const), dev, mm }) },
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('unbind' as const), dev, mm }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('mmap' as const), mm, first: page, count: fc.integer({ min: 1, max: 3 }), prot: fc.constantFrom('r' as const, 'rw' as const) }) },
    { weight: 5, arbitrary: fc.record({ kind: fc.constant('touch' as const), mm, page, write: fc.boolean() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('munmap' as const), mm, first: page, count: fc.integer({ min: 1, max: 3 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('mprotect' as const), mm, page, prot: fc.constantFrom('none' as const, 'r' as const, 'rw' as const) }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('dma' as const), dev, mm, page, write: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('prefetch' as const), dev, mm, page }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('exit' as const), mm }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('mmdrop' as const), mm }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('fork' as const), mm, child: mm }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('spawn' as const), mm }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'gracePeriod' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('vmalloc' as const), kpage }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('vfree' as const), kpage }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failNext' as const), site: fc.constantFrom(...FAIL_SITES) }) },
  );
};
