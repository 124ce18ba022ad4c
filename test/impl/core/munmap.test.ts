import { describe, expect, test } from 'vitest';
import { ULONG_MAX, userVpn, vpnToVa } from '../../../src/shared/index.js';
import type { World } from '../../../src/impl/world.js';
import type { MockEvent } from '../mockDriver.js';
import { bind, exit, mmap, mockWorld, munmap, spawn, touch, type Setup } from './helpers.js';

const va = (page: number): bigint => vpnToVa(userVpn(page));

/** A bound mm with pages populated; returns the world and a recorder of invalidations with memory state. */
function boundWith(setup: Setup, pages: number[], vmas: [number, number][] = [[0, 8]]) {
  const seen: { start: bigint; end: bigint; liveData: number[]; liveTables: number[] }[] = [];
  let world: World | undefined;
  const w = mockWorld({
    ...setup,
    config: {
      onInvalidate: (_mm, start, end) => {
        const mem = world!.kernel.mem;
        seen.push({ start, end, liveData: mem.liveFrames('data'), liveTables: mem.liveFrames('table') });
      },
    },
  });
  world = w.world;
  w.step(spawn(0));
  for (const [first, count] of vmas) w.step(mmap(0, first, count));
  for (const p of pages) w.step(touch(0, p));
  w.step(bind(0, 0));
  return { w, seen };
}

describe('munmap: zap, secondary-TLB flush, then free', () => {
  test('x86: the gathered range reaches the hook, before the pages and the PTE table are freed', () => {
    const { w, seen } = boundWith({ platform: 'vtd' }, [0, 1]);
    const mm = w.world.mms[0]!;
    const frames = [0, 1].map((p) => mm.pgd.translate(userVpn(p))!.frame);
    const tablesBefore = w.world.kernel.mem.liveFrames('table');
    w.step(munmap(0, 0, 2));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(0), va(1) + 4096n]]);
    for (const f of frames) expect(seen[0]!.liveData).toContain(f);
    expect(seen[0]!.liveTables).toEqual(tablesBefore);
    const mem = w.world.kernel.mem;
    for (const f of frames) expect(mem.kind(f)).toBe('free');
    // The pair's PTE table went; the PMD table stays (the rest of the VMA still uses its span).
    expect(mem.liveFrames('table')).toHaveLength(tablesBefore.length - 1);
  });

  test('x86: a range beyond the 33-page ceiling is still passed as is (only the CPU flush widens)', () => {
    const { w, seen } = boundWith({ platform: 'vtd' }, [0, 2]);
    w.step(munmap(0, 0, 3));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(0), va(2) + 4096n]]);
  });

  test('x86: unmapping the last VMA frees the upper tables too, and the range grows down to their address', () => {
    const { w, seen } = boundWith({ platform: 'vtd' }, [0, 1], [[0, 2]]);
    w.step(munmap(0, 0, 2));
    // The PUD table's 512 GiB span starts at 0: pud_free_tlb adds [0, PAGE_SIZE).
    expect(seen.map((s) => [s.start, s.end])).toEqual([[0n, va(1) + 4096n]]);
    expect(w.world.kernel.mem.liveFrames('table').filter((f) => w.world.kernel.mem.owner(f) === 0)).toEqual([w.world.mms[0]!.pgd.pgd]);
  });

  test('arm64 without FEAT_TLBIRANGE: 512 pages or more become flush_tlb_mm = (0, ULONG_MAX)', () => {
    const { w, seen } = boundWith({ platform: 'smmuv3' }, [0, 2]);
    w.step(munmap(0, 0, 3));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[0n, ULONG_MAX]]);
    expect(seen[0]!.liveData).toHaveLength(2);
  });

  test('arm64: a small range is passed page-aligned', () => {
    const { w, seen } = boundWith({ platform: 'smmuv3' }, [0, 1]);
    w.step(munmap(0, 0, 2));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(0), va(1) + 4096n]]);
  });

  test('arm64 with FEAT_TLBIRANGE keeps a 2 MiB range', () => {
    const { w, seen } = boundWith({ platform: 'smmuv3', options: { cpuTlbRange: true } }, [0, 2]);
    w.step(munmap(0, 0, 3));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(0), va(2) + 4096n]]);
  });

  test('arm64: freeing only a page table flushes at PMD stride', () => {
    // Page 1 is unmapped first while page 0's VMA keeps the table; then page 0's VMA goes.
    const { w, seen } = boundWith({ platform: 'smmuv3' }, [1], [[0, 1], [1, 1], [4, 1]]);
    w.step(munmap(0, 1, 1));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(1), va(1) + 4096n]]);
    w.step(munmap(0, 0, 1));
    expect(seen.slice(1).map((s) => [s.start, s.end])).toEqual([[va(0), va(0) + 512n * 4096n]]);
  });

  test('a table shared with a neighbouring VMA is kept; unmapping a hole does nothing', () => {
    const { w, seen } = boundWith({ platform: 'vtd' }, [0, 1], [[0, 1], [1, 1]]);
    const tables = w.world.kernel.mem.liveFrames('table').length;
    w.step(munmap(0, 0, 1));
    expect(seen.map((s) => [s.start, s.end])).toEqual([[va(0), va(0) + 4096n]]);
    expect(w.world.kernel.mem.liveFrames('table')).toHaveLength(tables);
    w.step(munmap(0, 4, 2));
    expect(seen).toHaveLength(1);
    // Munmap of a VMA with nothing populated flushes nothing either.
    w.step(mmap(0, 6, 1));
    w.step(munmap(0, 6, 1));
    expect(seen).toHaveLength(1);
  });

  test('exit: release runs while every page is still mapped; nothing is invalidated afterwards', () => {
    const events: { e: MockEvent; data: number }[] = [];
    const w = mockWorld({ config: { onEvent: (e) => events.push({ e, data: w.world.kernel.mem.liveFrames('data').length }) } });
    w.run(spawn(0), mmap(0, 0, 4), touch(0, 0), touch(0, 2), bind(0, 0));
    events.length = 0;
    w.step(exit(0));
    expect(events.map((x) => [x.e.op, x.data])).toEqual([['release', 2]]);
    expect(w.world.kernel.mem.liveFrames('data')).toEqual([]);
  });
});
