import { describe, expect, test } from 'vitest';
import { noUseAfterFree } from '../../../properties/lifecycle/noUseAfterFree.js';
import { PLATFORMS, busy, check, exit, expectFires, expectHolds, grace, mmdrop, poke, unbind } from '../helpers.js';

describe.each(PLATFORMS)('I10 no use-after-free on %s', (platform) => {
  test('holds through exit, mmdrop while pinned, the last unbind and the grace period', () => {
    const p = busy(platform).run(exit(0), mmdrop(0));
    expectHolds(noUseAfterFree, p);
    p.run(unbind(0, 0), unbind(0, 0), unbind(2, 0), unbind(3, 0));
    expectHolds(noUseAfterFree, p);
    p.run(grace);
    expectHolds(noUseAfterFree, p);
    expect(p.world.mms[0]!.freed).toBe(true);
  });

  test('fires when a bound handle is tombstoned', () => {
    const p = busy(platform);
    p.world.fds[1]![0]!.handle.freed = true;
    expectFires(noUseAfterFree, p, /freed handle/);
  });

  test('fires when a domain reached through a handle is freed', () => {
    const p = busy(platform);
    poke(p.world.fds[1]![0]!.handle.domain, 'freed', true);
    expectFires(noUseAfterFree, p, /points at freed domain/);
  });

  test('fires when mm_count counts a reference nobody holds', () => {
    const p = busy(platform);
    p.world.mms[1]!.mm_count += 1;
    expectFires(noUseAfterFree, p, /mm1#1: mm_users 1, mm_count \d+; held: 1 users, 0 lazy, \d+ SVA pins/);
  });

  test('fires when a domain pins an mm_struct that was freed', () => {
    const p = busy(platform).run(exit(1), mmdrop(1));
    poke(p.world.mms[1]!, 'freed', true);
    expectFires(noUseAfterFree, p, /pins freed mm1#1/);
  });

  test('fires when a pending notifier is tombstoned before its grace period', () => {
    const p = busy(platform).run(unbind(0, 1));
    // AMD has no pending notifier (the domain free unregisters it at once): tombstone a live one.
    const pending = [...p.world.core.live.notifiers].find((n) => platform === 'amd' || n.users === 0)!;
    pending.freed = true;
    expectFires(noUseAfterFree, p, /freed but still allocated/);
    expect(check(noUseAfterFree, p).every((v) => v.invariant === 'I10')).toBe(true);
  });
});
