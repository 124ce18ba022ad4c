import { describe, expect, test } from 'vitest';
import { userVpn } from '../../../src/shared/index.js';
import { findLeaks } from '../../../src/impl/quiesce.js';
import { fork, mprotect } from '../../commands.js';
import { bind, exit, mmap, mmdrop, mockWorld, munmap, spawn, touch } from './helpers.js';

const ALL = (1n << 64n) - 1n;
const vaOf = (page: number): bigint => BigInt(userVpn(page)) << 12n;

/** Parent mm0 with page 0 written (rw) and page 1 read (ro), bound to dev0, forked into mm1. */
const forked = () => {
  const w = mockWorld();
  w.run(spawn(0), mmap(0, 0, 2), touch(0, 0), touch(0, 1, false), bind(0, 0));
  expect(w.step(fork(0, 1))).toEqual({ ok: true, value: 1 });
  return { w, parent: w.world.mms[0]!, child: w.world.mms[1]!, mem: w.world.kernel.mem };
};

describe('fork: copy_page_range shares anonymous pages copy-on-write', () => {
  test('the child maps the parent\'s frames, every writable PTE is write-protected on both sides, and only the parent is flushed whole', () => {
    const { w, parent, child, mem } = forked();
    expect(child.iommu_mm).toBeUndefined();
    expect(child.notifiers).toEqual([]);
    expect(child.vmas).toEqual(parent.vmas);
    for (const p of [0, 1]) {
      const a = parent.pgd.translate(userVpn(p))!;
      const b = child.pgd.translate(userVpn(p))!;
      expect(b.frame).toBe(a.frame);
      expect([a.write, b.write]).toEqual([false, false]);
      expect(mem.owners(a.frame)).toEqual([0, 1]);
      expect(mem.anonExclusive(a.frame)).toBe(false);
    }
    // dup_mmap's flush_tlb_mm(oldmm) is what tells the parent's secondary TLBs of the write-protect.
    expect(w.driver.events('invalidate').map((e) => [e.mm, e.start, e.end])).toEqual([[0, 0n, ALL]]);
  });

  test('a VMA never faulted (no anon_vma) gets no page tables in the child; a faulted one mirrors the parent\'s', () => {
    const w = mockWorld();
    w.run(spawn(0), mmap(0, 0, 1), mmap(0, 4, 1), touch(0, 0, false));
    const tables = w.world.kernel.mem.liveFrames('table').length;
    w.step(fork(0, 1));
    // The child: its pgd, and below it one table per level down to page 0's PTE table; page 4's
    // untouched VMA has none, in the parent or the child.
    const levels = w.world.kernel.topology.ptLevels;
    expect(w.world.kernel.mem.liveFrames('table').length - tables).toBe(levels);
    expect(w.world.mms[1]!.pgd.lookup(userVpn(4))).toBe(0);
  });
});

describe('do_wp_page after fork', () => {
  test('the first writer copies (a new frame, same content, the old PTE cleared and flushed for that page); the last sharer reuses the frame in place', () => {
    const { w, parent, child, mem } = forked();
    const shared = parent.pgd.translate(userVpn(0))!.frame;
    const before = w.driver.events('invalidate').length;
    expect(w.step(touch(0, 0))).toEqual({ ok: true });
    const mine = parent.pgd.translate(userVpn(0))!;
    expect(mine.frame).not.toBe(shared);
    expect(mine.write).toBe(true);
    expect(mem.token(mine.frame)).toBe(mem.token(shared));
    expect(mem.owners(mine.frame)).toEqual([0]);
    expect(mem.owners(shared)).toEqual([1]);
    // ptep_clear_flush → flush_tlb_page: the parent's secondary TLBs drop the shared page.
    expect(w.driver.events('invalidate').slice(before).map((e) => [e.mm, e.start, e.end])).toEqual([[0, vaOf(0), vaOf(0) + 4096n]]);

    expect(w.step(touch(1, 0))).toEqual({ ok: true });
    const theirs = child.pgd.translate(userVpn(0))!;
    expect(theirs).toEqual({ frame: shared, write: true });
    expect(mem.anonExclusive(shared)).toBe(true);
  });

  test('a read fault on a shared page changes nothing', () => {
    const { w, parent, child } = forked();
    w.step(touch(1, 1, false));
    expect(child.pgd.translate(userVpn(1))).toEqual(parent.pgd.translate(userVpn(1)));
  });
});

describe('a shared frame lives until its last mapping goes', () => {
  test('the parent\'s munmap keeps the page the child maps; the child\'s exit frees it; no leak on either side', () => {
    const { w, child, mem } = forked();
    const frame = child.pgd.translate(userVpn(0))!.frame;
    w.step(munmap(0, 0, 2));
    expect(mem.kind(frame)).toBe('data');
    expect(mem.owners(frame)).toEqual([1]);
    expect(child.pgd.translate(userVpn(0))!.frame).toBe(frame);
    w.run(exit(1), mmdrop(1));
    expect(mem.kind(frame)).toBe('free');
    expect(findLeaks(w.world).filter((l) => l.kind === 'frame')).toEqual([]);
  });

  test('the parent exits while the child still maps its pages: they now belong to the child alone', () => {
    const { w, child, mem } = forked();
    w.run(exit(0));
    const frame = child.pgd.translate(userVpn(1))!.frame;
    expect(mem.owners(frame)).toEqual([1]);
    expect(findLeaks(w.world).filter((l) => l.kind === 'frame')).toEqual([]);
    // Sole owner now, but fork cleared PageAnonExclusive: the write still goes through do_wp_page, which reuses.
    w.step(touch(1, 1));
    expect(child.pgd.translate(userVpn(1))).toEqual({ frame, write: true });
  });
});

describe('mprotect on a copy-on-write page (can_change_pte_writable)', () => {
  test('raising a shared page to rw leaves it read-only; an exclusive one becomes writable', () => {
    const { w, parent, child } = forked();
    w.run(mprotect(0, 0, 'r'), mprotect(0, 0, 'rw'));
    expect(parent.pgd.translate(userVpn(0))!.write).toBe(false);
    // The child's write fault takes its own copy; the parent's frame is then its alone but still
    // not exclusive until the parent's own write fault claims it.
    w.step(touch(1, 0));
    w.run(mprotect(0, 0, 'r'), mprotect(0, 0, 'rw'));
    expect(parent.pgd.translate(userVpn(0))!.write).toBe(false);
    w.step(touch(0, 0));
    w.run(mprotect(0, 0, 'r'), mprotect(0, 0, 'rw'));
    expect(parent.pgd.translate(userVpn(0))!.write).toBe(true);
    expect(child.pgd.translate(userVpn(0))!.write).toBe(true);
  });
});

describe('migrate of a shared page', () => {
  test('moves every mapping to the new frame; the bound parent is flushed although the child asked', () => {
    const { w, parent, child, mem } = forked();
    const old = parent.pgd.translate(userVpn(0))!.frame;
    const before = w.driver.events('invalidate').length;
    w.step({ kind: 'migrate', mm: 1, page: 0 });
    // x86's arch_tlbbatch_add_pending for the parent's cleared PTE (the child has no notifier).
    expect(w.driver.events('invalidate').slice(before).map((e) => [e.mm, e.start, e.end])).toEqual([[0, 0n, ALL]]);
    const a = parent.pgd.translate(userVpn(0))!;
    const b = child.pgd.translate(userVpn(0))!;
    expect(a.frame).toBe(b.frame);
    expect(a.frame).not.toBe(old);
    expect(mem.kind(old)).toBe('free');
    expect(mem.owners(a.frame)).toEqual([0, 1]);
    expect(mem.anonExclusive(a.frame)).toBe(false);
  });
});
