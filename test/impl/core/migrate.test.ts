import { describe, expect, test } from 'vitest';
import { ULONG_MAX, userVpn, vpnToVa } from '../../../src/shared/index.js';
import type { World } from '../../../src/impl/world.js';
import { bind, mmap, mockWorld, spawn, touch, type Setup } from './helpers.js';

/** A bound mm with page 0 populated; records each secondary-TLB flush with the old frame's state. */
function bound(setup: Setup) {
  const seen: { start: bigint; end: bigint; oldLive: boolean }[] = [];
  let world: World | undefined;
  let old = -1;
  const w = mockWorld({
    ...setup,
    config: {
      onInvalidate: (_mm, start, end) => {
        seen.push({ start, end, oldLive: world!.kernel.mem.kind(old) === 'data' });
      },
    },
  });
  world = w.world;
  w.step(spawn(0));
  w.step(mmap(0, 0, 2));
  w.step(touch(0, 0));
  w.step(bind(0, 0));
  old = w.world.mms[0]!.pgd.translate(userVpn(0))!.frame;
  return { w, seen, old };
}

describe('migrate: the batched unmap flush, then a new frame with the same content', () => {
  test('x86: arch_tlbbatch_add_pending tells the secondary TLBs everything, (0, -1), while the old frame is live', () => {
    const { w, seen, old } = bound({ platform: 'vtd' });
    const mem = w.world.kernel.mem;
    const token = mem.token(old);
    w.step({ kind: 'migrate', mm: 0, page: 0 });
    expect(seen).toEqual([{ start: 0n, end: ULONG_MAX, oldLive: true }]);
    const now = w.world.mms[0]!.pgd.translate(userVpn(0))!;
    expect(now.frame).not.toBe(old);
    expect(mem.token(now.frame)).toBe(token);
    expect(mem.kind(old)).toBe('free');
  });

  test('arm64: the hook gets the one page', () => {
    const { w, seen } = bound({ platform: 'smmuv3' });
    w.step({ kind: 'migrate', mm: 0, page: 0 });
    const va = vpnToVa(userVpn(0));
    expect(seen.map((s) => [s.start, s.end, s.oldLive])).toEqual([[va, va + 4096n, true]]);
  });

  test('an absent page is not migrated: no flush, nothing changes', () => {
    const { w, seen } = bound({ platform: 'vtd' });
    w.step({ kind: 'migrate', mm: 0, page: 1 });
    expect(seen).toEqual([]);
  });
});
