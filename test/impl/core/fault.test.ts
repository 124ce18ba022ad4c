import { describe, expect, test } from 'vitest';
import { userToken, userVpn, vpnToVa } from '../../../src/shared/index.js';
import { bind, dma, mmap, mockWorld, spawn, touch } from './helpers.js';

describe('handle_mm_fault and mprotect', () => {
  test('a read touch populates a read-only page with the next token; a write touch upgrades it in place and flushes the page', () => {
    for (const platform of ['vtd', 'smmuv3'] as const) {
      const w = mockWorld({ platform });
      w.run(spawn(1), mmap(1, 2, 2), bind(0, 1));
      expect(w.step(touch(1, 2, false))).toEqual({ ok: true });
      const mm = w.world.mms[1]!;
      const t = mm.pgd.translate(userVpn(2))!;
      expect(t.write).toBe(false);
      expect(w.world.kernel.mem.token(t.frame)).toBe(userToken(1, 2, 1));
      expect(w.step(dma(0, 1, 2, true))).toMatchObject({ ok: false, errno: 'EFAULT' });
      expect(w.driver.events('invalidate')).toHaveLength(0);

      expect(w.step(touch(1, 2, true))).toEqual({ ok: true });
      expect(mm.pgd.translate(userVpn(2))).toEqual({ frame: t.frame, write: true });
      const v = vpnToVa(userVpn(2));
      expect(w.driver.events('invalidate').map((e) => [e.start, e.end])).toEqual([[v, v + 4096n]]);
      expect(w.step(dma(0, 1, 2, true))).toEqual({ ok: true, value: userToken(1, 2, 1) });
    }
  });

  test('touch outside a VMA, into PROT_NONE, or a write to a read-only VMA is -EFAULT', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 1, 'r'), mmap(0, 1, 1));
    expect(w.step(touch(0, 3))).toEqual({ ok: false, errno: 'EFAULT' });
    expect(w.step(touch(0, 0, true))).toEqual({ ok: false, errno: 'EFAULT' });
    expect(w.step(touch(0, 0, false))).toEqual({ ok: true });
    w.step({ kind: 'mprotect', mm: 0, page: 1, prot: 'none' });
    expect(w.step(touch(0, 1, false))).toEqual({ ok: false, errno: 'EFAULT' });
  });

  test('mprotect splits the VMA and rewrites the PTE: r downgrades and flushes, rw makes it writable, none hides it', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 4), touch(0, 1), bind(0, 0));
    const mm = w.world.mms[0]!;
    w.step({ kind: 'mprotect', mm: 0, page: 1, prot: 'r' });
    expect(mm.vmas).toEqual([{ first: 0, count: 1, prot: 'rw', anon_vma: true }, { first: 1, count: 1, prot: 'r', anon_vma: true }, { first: 2, count: 2, prot: 'rw', anon_vma: true }]);
    expect(mm.pgd.translate(userVpn(1))!.write).toBe(false);
    const v = vpnToVa(userVpn(1));
    expect(w.driver.events('invalidate').map((e) => [e.start, e.end])).toEqual([[v, v + 4096n]]);
    expect(w.step(dma(0, 0, 1, true))).toMatchObject({ ok: false });

    w.step({ kind: 'mprotect', mm: 0, page: 1, prot: 'rw' });
    expect(mm.pgd.translate(userVpn(1))!.write).toBe(true);
    expect(w.driver.events('invalidate')).toHaveLength(2);

    w.step({ kind: 'mprotect', mm: 0, page: 1, prot: 'none' });
    expect(mm.pgd.translate(userVpn(1))).toBeUndefined();
    expect(w.step(dma(0, 0, 1))).toMatchObject({ ok: false, errno: 'EFAULT' });
    w.step({ kind: 'mprotect', mm: 0, page: 1, prot: 'r' });
    expect(w.step(dma(0, 0, 1))).toEqual({ ok: true, value: userToken(0, 1, 1) });
  });

  test('x86 skips the flush when mprotect changes no PTE; arm64 flushes every present PTE', () => {
    const x86 = mockWorld({ platform: 'vtd' });
    const arm = mockWorld({ platform: 'smmuv3' });
    for (const w of [x86, arm]) {
      w.run(spawn(0), mmap(0, 0, 2, 'r'), touch(0, 0, false), bind(0, 0));
      w.step({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    }
    expect(x86.driver.events('invalidate')).toHaveLength(0);
    expect(arm.driver.events('invalidate')).toHaveLength(1);
  });
});
