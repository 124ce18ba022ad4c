import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import type { Command } from '../../src/shared/index.js';
import { COMMAND_KINDS, userToken } from '../../src/shared/index.js';
import { findLeaks, noBonds } from '../../src/impl/quiesce.js';
import { slotState } from '../../src/impl/world.js';
import { bind, dma, exit, grace, mmap, mmdrop, mockWorld, spawn, touch, unbind } from './core/helpers.js';

const mapped = (vmas: readonly { first: number }[], page: number): number =>
  vmas.length > 0 && page < 6 ? vmas[page % vmas.length]!.first : page;

describe('implStep', () => {
  test('maps each command to its observation as contracts.md says', () => {
    const w = mockWorld({ mms: 3 });
    const seen = new Set<string>();
    const step = (c: Command) => {
      seen.add(c.kind);
      return w.step(c);
    };
    expect(step(spawn(0))).toEqual({ ok: true });
    expect(step(mmap(0, 0, 2))).toEqual({ ok: true });
    expect(step(touch(0, 0))).toEqual({ ok: true });
    expect(step(touch(0, 5))).toEqual({ ok: false, errno: 'EFAULT' });
    expect(step(bind(0, 0))).toEqual({ ok: true, value: 1 });
    expect(step(dma(0, 0, 0, true))).toEqual({ ok: true, value: userToken(0, 0, 1) });
    expect(step(dma(0, 0, 1))).toMatchObject({ ok: false, errno: 'EFAULT', fault: 'mock0: not-present' });
    // By PASID: mm0's PASID 1 reads its page; nothing is attached at PASID 2.
    expect(step({ kind: 'dmaPasid', dev: 0, pasid: 1, page: 0, write: false })).toEqual({ ok: true, value: userToken(0, 0, 1) });
    expect(step({ kind: 'dmaPasid', dev: 0, pasid: 2, page: 0, write: false })).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(step({ kind: 'prefetch', dev: 1, mm: 0, page: 0 })).toEqual({ ok: true });
    expect(step({ kind: 'prefetchKernel', dev: 1, mm: 0, kpage: 0 })).toEqual({ ok: true });
    expect(step({ kind: 'prg', dev: 1, mm: 0, page: 0, count: 2, write: false, rid: false, last: true })).toMatchObject({ ok: false, errno: 'EFAULT', fault: 'dev1: no PRI' });
    expect(step({ kind: 'stopMarker', dev: 1, mm: 0 })).toMatchObject({ ok: false, errno: 'EFAULT', fault: 'dev1: no PRI' });
    expect(step({ kind: 'mprotect', mm: 0, page: 1, prot: 'r' })).toEqual({ ok: true });
    expect(step({ kind: 'migrate', mm: 0, page: 0 })).toEqual({ ok: true });
    expect(step({ kind: 'munmap', mm: 0, first: 1, count: 1 })).toEqual({ ok: true });
    expect(step({ kind: 'fork', mm: 0, child: 2 })).toEqual({ ok: true, value: 2 });
    expect(step({ kind: 'vmalloc', kpage: 0 })).toEqual({ ok: true });
    expect(step({ kind: 'vfree', kpage: 0 })).toEqual({ ok: true });
    expect(step({ kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' })).toEqual({ ok: true });
    expect(step(unbind(0, 0))).toEqual({ ok: true });
    expect(step(exit(0))).toEqual({ ok: true });
    expect(step(mmdrop(0))).toEqual({ ok: true });
    expect(step(grace)).toEqual({ ok: true });
    expect(step({ kind: 'failNth', n: 1 })).toEqual({ ok: true });
    // Surprise removal: the driver's remove drops dev1's bonds (it has none here).
    expect(step({ kind: 'unplug', dev: 1 })).toEqual({ ok: true });
    expect(w.world.devices[1]!.hw.disconnected).toBe(true);
    // The mock driver has no PRI endpoints: nothing to answer.
    expect(step({ kind: 'serviceFaults' })).toEqual({ ok: true, value: 0 });
    // The mock driver allocates no paging domains: iommufd's PASID attach stops at the core.
    expect(step({ kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 3 })).toEqual({ ok: false, errno: 'EOPNOTSUPP' });
    // The other paging-domain commands need an attached domain: test/impl/iommufd.test.ts and
    // test/impl/vtd/nested.test.ts (VT-d), test/impl/iommufdDestroy.test.ts.
    const needDomain = ['detachPasid', 'replacePasid', 'iommuMap', 'iommuUnmap', 'dmaIova', 'guestMap', 'guestUnmap', 'destroyHwpt'];
    expect([...seen, ...needDomain].sort()).toEqual([...COMMAND_KINDS].sort());
    expect(slotState(w.world, 0)).toBe('freed');
    expect(slotState(w.world, 2)).toBe('live');
  });

  test('a command that breaks its caller contract throws instead of returning', () => {
    const w = mockWorld();
    expect(() => w.step(bind(0, 0))).toThrow(/unborn/);
    w.step(spawn(0));
    expect(() => w.step(unbind(0, 0))).toThrow(/without a bond/);
    expect(() => w.step(dma(0, 0, 0))).toThrow(/no PASID/);
    expect(() => w.step(mmdrop(0))).toThrow(/not exited/);
  });

  test('random legal command sequences never throw and leave no leak once everything is torn down', () => {
    const reached = { binds: 0, dmaOk: 0, unbinds: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(9), fc.nat(2), fc.nat(1), fc.nat(7), fc.boolean()), { minLength: 20, maxLength: 60, size: 'max' }), (script) => {
        const w = mockWorld({ mms: 3, pages: 8 });
        const binds = new Map<string, number>();
        for (const [op, slot, dev, page, flag] of script) {
          const mm = w.world.mms[slot];
          const live = mm !== undefined && !mm.exited;
          const key = `${dev}/${slot}`;
          if (!live) {
            // Move a dead slot along: drop the lazy ref, unbind what still pins it, let SRCU run, respawn.
            if (mm === undefined || mm.freed) w.step(spawn(slot));
            else if (w.world.lazyRef[slot]) w.step(mmdrop(slot));
            else if ((binds.get(key) ?? 0) > 0) {
              w.step(unbind(dev, slot));
              binds.set(key, binds.get(key)! - 1);
            } else if (op === 5 && mm.iommu_mm) w.step(dma(dev, slot, page, flag));
            else w.step(grace);
            continue;
          }
          if (op === 0) {
            if (w.step(bind(dev, slot)).ok) {
              binds.set(key, (binds.get(key) ?? 0) + 1);
              reached.binds++;
            }
          } else if (op === 1 && (binds.get(key) ?? 0) > 0) {
            w.step(unbind(dev, slot));
            binds.set(key, binds.get(key)! - 1);
            reached.unbinds++;
          } else if (op === 2 && mm.vmas.every((v) => page < v.first || page >= v.first + v.count)) w.step(mmap(slot, page, 1, flag ? 'rw' : 'r'));
          // Aim touches and DMAs at mapped pages most of the time, so memory is really reached.
          else if (op === 3) w.step(touch(slot, mapped(mm.vmas, page), flag));
          else if (op === 4) w.step({ kind: 'munmap', mm: slot, first: page, count: 1 + (dev % 2) * 2 });
          else if (op === 5 && mm.iommu_mm) {
            // Touch first: without PRI the mock device reaches only pages the CPU has faulted in.
            const p = mapped(mm.vmas, page);
            w.step(touch(slot, p));
            reached.dmaOk += w.step(dma(dev, slot, p, flag)).ok ? 1 : 0;
          }
          else if (op === 6) w.step(grace);
          else if (op === 7 && mm.vmas.some((v) => page >= v.first && page < v.first + v.count)) w.step({ kind: 'mprotect', mm: slot, page, prot: flag ? 'rw' : page < 2 ? 'none' : 'r' });
          else if (op === 8 && flag && page < 2) w.step(exit(slot));
          expect(findLeaks(w.world)).toEqual([]);
        }
        for (const [key, n] of binds) {
          const [dev, slot] = key.split('/').map(Number) as [number, number];
          for (let i = 0; i < n; i++) w.step(unbind(dev, slot));
        }
        for (let s = 0; s < 3; s++) {
          const mm = w.world.mms[s];
          if (mm && !mm.exited) w.step(exit(s));
          if (w.world.lazyRef[s]) w.step(mmdrop(s));
        }
        w.step(grace);
        expect(noBonds(w.world)).toBe(true);
        expect(findLeaks(w.world)).toEqual([]);
        expect(w.world.core.pasidIda.size).toBe(0);
        expect(w.world.kernel.mem.liveFrames('data')).toEqual([]);
      }),
      // A fixed seed: the counts below are then a fact of this test, not a draw (with a random
      // seed and no touch before the DMA, 150 runs reached memory 3-9 times; CI once drew 0).
      { numRuns: 150, seed: 0x5a },
    );
    // Not vacuous: the sequences did bind, unbind and reach memory through a device.
    expect(reached.binds).toBeGreaterThan(50);
    expect(reached.unbinds).toBeGreaterThan(10);
    expect(reached.dmaOk).toBeGreaterThan(10);
  });
});

describe('findLeaks (quiescence)', () => {
  const quiescent = () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 2), touch(0, 0), bind(0, 0), bind(1, 0));
    return w;
  };

  test('a full bind/unbind/exit/mmdrop/grace cycle leaves nothing', () => {
    const w = quiescent();
    w.run(unbind(0, 0), unbind(1, 0));
    // Before the grace period the notifier is still queued: not a leak yet.
    expect(findLeaks(w.world)).toEqual([]);
    w.run(exit(0), mmdrop(0), grace);
    expect(findLeaks(w.world)).toEqual([]);
  });

  test('detects a leaked domain', () => {
    const w = quiescent();
    w.world.mms[0]!.iommu_mm!.sva_domains.length = 0;
    expect(findLeaks(w.world).map((l) => l.kind)).toContain('domain');
  });

  test('detects a leaked handle and a leftover pasid_array entry', () => {
    const w = quiescent();
    w.world.fds[0]![0] = undefined;
    w.world.fds[0]![1] = undefined;
    const kinds = findLeaks(w.world).map((l) => l.kind);
    expect(kinds).toContain('handle');
    expect(kinds).toContain('pasid_array');
  });

  test('detects a leaked PASID', () => {
    const w = quiescent();
    w.world.core.pasidIda.add(9);
    expect(findLeaks(w.world)).toContainEqual({ kind: 'pasid', what: 'PASID 9 allocated but owned by no live mm' });
  });

  test('detects a notifier never freed and driver state left behind', () => {
    const w = quiescent();
    w.run(unbind(0, 0), unbind(1, 0));
    w.world.kernel.srcuCallbacks.length = 0; // the put's call_srcu lost
    w.driver.units[0]!.entries.set('0:5', { pgd: 0, levels: 4, released: false });
    const kinds = findLeaks(w.world).map((l) => l.kind);
    expect(kinds).toContain('notifier');
    expect(kinds).toContain('driver');
  });
});
