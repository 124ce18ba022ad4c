import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/**
 * B14 (CVE-2025-71202) lives in the core's x86 kernel page-table free path (core/vmalloc.ts),
 * so it bites AMD, whose guest walk shares the kernel's top-level entry as VT-d first-level
 * translation does. The registry keeps B14 on 'vtd' (its field cannot say "x86 platforms"
 * without reshaping the entries); the switch itself works on any world.
 */
describe('B14 on AMD', () => {
  const HAND: readonly Command[] = [
    { kind: 'spawn', mm: 0 },
    { kind: 'bind', dev: 0, mm: 0 },
    { kind: 'vmalloc', kpage: 0 },
    { kind: 'prefetchKernel', dev: 0, mm: 0, kpage: 0 },
    { kind: 'vfree', kpage: 0 },
  ];

  test('vfree leaves the AMD page-directory cache pointing at the freed kernel PTE table (I6); the fixed kernel flushes first', () => {
    const t = defaultTopology('amd');
    const bad = runSequence(t, HAND, { fault: 'B14' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I6', step: 4 });
    expect(bad.value.session.violation?.message).toContain('page-directory cache');
    const good = runSequence(t, HAND);
    expect(good.ok && good.value.session.violation).toBeUndefined();
  });
});
