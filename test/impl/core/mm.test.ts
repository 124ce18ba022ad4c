import { sync } from '../../../src/impl/core/sched.js';
import { describe, expect, test } from 'vitest';
import { mmget_not_zero, mmgrab, mmdrop, mmput } from '../../../src/impl/core/mm.js';
import { slotState } from '../../../src/impl/world.js';
import { exit, mmap, mmdrop as mmdropCmd, mockWorld, spawn, touch } from './helpers.js';

describe('mm_struct lifecycle', () => {
  test('spawn, exit and mmdrop walk the slot through live, exited and freed, releasing every frame', () => {
    const w = mockWorld();
    const framesBefore = w.world.kernel.mem.liveFrames('table').length;
    w.run(spawn(0), mmap(0, 0, 4), touch(0, 0), touch(0, 3, false));
    expect(slotState(w.world, 0)).toBe('live');
    const mm = w.world.mms[0]!;
    expect(w.world.kernel.mem.liveFrames('data')).toHaveLength(2);
    w.step(exit(0));
    expect(slotState(w.world, 0)).toBe('exited');
    expect(mm.mm_users).toBe(0);
    expect(mm.mm_count).toBe(1);
    expect(mm.vmas).toEqual([]);
    expect(w.world.kernel.mem.liveFrames('data')).toEqual([]);
    // Only the pgd is left: it goes at __mmdrop.
    expect(w.world.kernel.mem.liveFrames('table')).toHaveLength(framesBefore + 1);
    w.step(mmdropCmd(0));
    expect(slotState(w.world, 0)).toBe('freed');
    expect(w.world.kernel.mem.liveFrames('table')).toHaveLength(framesBefore);
  });

  test('mmget_not_zero fails once mm_users reached zero; mmgrab keeps the struct alive', () => {
    const w = mockWorld();
    w.step(spawn(0));
    const mm = w.world.mms[0]!;
    expect(mmget_not_zero(mm)).toBe(true);
    sync(mm.kernel, mmput(mm));
    mmgrab(mm);
    w.step(exit(0));
    expect(mmget_not_zero(mm)).toBe(false);
    w.step(mmdropCmd(0));
    expect(mm.freed).toBe(false);
    mmdrop(mm);
    expect(mm.freed).toBe(true);
    expect(() => mmdrop(mm)).toThrow(/underflow/);
  });

  test('a freed slot is reused by a new incarnation with fresh counters for nothing but the incarnation', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 1), touch(0, 0), exit(0), mmdropCmd(0), spawn(0), mmap(0, 0, 1), touch(0, 0, false));
    const mm = w.world.mms[0]!;
    expect(mm.gen).toBe(2);
    expect(w.world.content.userGen(0, 0)).toBe(2);
    expect(w.step({ kind: 'spawn', mm: 1 })).toEqual({ ok: true });
    expect(() => w.step(spawn(0))).toThrow(/not free/);
  });
});
