import { describe, expect, test } from 'vitest';
import { kernelToken, kernelVpn, ULONG_MAX } from '../../../src/shared/index.js';
import type { World } from '../../../src/impl/world.js';
import { bind, mockWorld, spawn, unbind } from './helpers.js';

describe('vmalloc / vfree and iommu_sva_invalidate_kva_range', () => {
  test('vfree flushes every SVA mm with (PAGE_OFFSET, TLB_FLUSH_ALL) before the kernel PTE table is freed', () => {
    let world: World | undefined;
    const seen: { mm: number; start: bigint; end: bigint; tableLive: boolean }[] = [];
    let table = -1;
    const w = mockWorld({
      config: { onInvalidate: (mm, start, end) => seen.push({ mm: mm.slot, start, end, tableLive: table >= 0 && world!.kernel.mem.kind(table) === 'table' }) },
    });
    world = w.world;
    w.run(spawn(0), spawn(1), bind(0, 0), bind(1, 1), { kind: 'vmalloc', kpage: 1 });
    const ks = w.world.kspace;
    const mem = w.world.kernel.mem;
    const before = mem.liveFrames('table').length;
    const leaf = ks.lookup(kernelVpn(1));
    expect(mem.token(leaf >>> 3)).toBe(kernelToken(1, 1));
    w.step({ kind: 'vfree', kpage: 1 });
    const after = mem.liveFrames('table');
    expect(after).toHaveLength(before - 1);
    expect(seen.map((s) => [s.mm, s.start, s.end])).toEqual([[1, 0xffff888000000000n, ULONG_MAX], [0, 0xffff888000000000n, ULONG_MAX]]);

    // Again, now watching the table's state at flush time.
    seen.length = 0;
    w.step({ kind: 'vmalloc', kpage: 1 });
    const now = new Set(mem.liveFrames('table'));
    table = [...now].find((f) => !after.includes(f))!;
    w.step({ kind: 'vfree', kpage: 1 });
    expect(seen).toHaveLength(2);
    expect(seen.every((s) => s.tableLive)).toBe(true);
    expect(mem.kind(table)).toBe('free');
  });

  test('without any SVA mm nothing is invalidated', () => {
    const w = mockWorld();
    w.run(spawn(0), bind(0, 0), unbind(0, 0), { kind: 'vmalloc', kpage: 0 }, { kind: 'vfree', kpage: 0 });
    expect(w.driver.events('invalidate')).toHaveLength(0);
    expect(w.world.core.sva.present).toBe(false);
  });
});
