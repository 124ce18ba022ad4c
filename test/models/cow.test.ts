import { describe, expect, test } from 'vitest';
import { checkedStep, driverFor, openSession } from '../../src/harness/index.js';
import { defaultTopology, PLATFORMS, userVpn } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';
import { findLeaks } from '../../src/impl/quiesce.js';
import { withoutSecondaryTlbFlush, withoutWholeRangeFlush } from './brokenDriver.js';

/**
 * Fork's copy-on-write write-protects the parent's writable PTEs and tells the parent's
 * secondary TLBs only through dup_mmap's flush_tlb_mm, a whole-range flush (0, ULONG_MAX). A
 * device that wrote the page before the fork holds a writable IOTLB (and ATC) entry for the
 * frame now shared with the child; if that flush is lost, its next write lands in the child's
 * page. The content tokens name what a page was populated with, not what was written to it, so
 * the write itself is not visible as data in the child: what shows is the stale writable
 * translation (I6, at the fork) and the write that succeeds where the kernel faults (OBS).
 */
const SEQ: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: true },
  { kind: 'fork', mm: 0, child: 1 },
];
const WRITE: Command = { kind: 'dma', dev: 0, mm: 0, page: 0, write: true };

describe.each(PLATFORMS)('fork copy-on-write on %s', (platform) => {
  test('a driver that drops whole-range flushes keeps the pre-fork writable translation: I6 at the fork, the device\'s next write succeeds where it must fault', () => {
    const s = openSession(defaultTopology(platform), { driver: withoutWholeRangeFlush(driverFor(platform)) });
    const found = SEQ.map((c) => checkedStep(s, c).map((v) => v.invariant));
    expect(found.slice(0, 5).flat()).toEqual([]);
    expect(found[5]).toContain('I6');
    expect(checkedStep(s, WRITE).map((v) => v.invariant)).toContain('OBS');
    // The write went through: into the frame the child maps too.
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: true });
    expect(s.world.mms[0]!.pgd.translate(userVpn(0))!.frame).toBe(s.world.mms[1]!.pgd.translate(userVpn(0))!.frame);
  });

  test('the correct kernel flushes at the fork: the device write faults on the read-only PTE until the CPU\'s write breaks the sharing', () => {
    const s = openSession(defaultTopology(platform));
    for (const c of SEQ) expect(checkedStep(s, c)).toEqual([]);
    expect(checkedStep(s, WRITE)).toEqual([]);
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(checkedStep(s, { kind: 'touch', mm: 0, page: 0, write: true })).toEqual([]);
    expect(checkedStep(s, WRITE)).toEqual([]);
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: true });
    // The child still maps the frame the parent had before its write fault copied it.
    const [parent, child] = [s.world.mms[0]!, s.world.mms[1]!];
    expect(child.pgd.translate(userVpn(0))!.frame).not.toBe(parent.pgd.translate(userVpn(0))!.frame);
  });
});

describe('a device write through PRI breaks copy-on-write (iommu_sva_handle_mm → handle_mm_fault)', () => {
  const topology: Topology = (() => {
    const t = defaultTopology('vtd');
    return { ...t, devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
  })();

  test('the write is a page request; servicing it copies the page for the parent; the retried write reaches the parent\'s own frame', () => {
    const s = openSession(topology);
    for (const c of SEQ) expect(checkedStep(s, c)).toEqual([]);
    const shared = s.world.mms[1]!.pgd.translate(userVpn(0))!.frame;
    expect(checkedStep(s, WRITE)).toEqual([]);
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true });
    expect(checkedStep(s, { kind: 'serviceFaults' })).toEqual([]);
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true, value: 1 });
    const mine = s.world.mms[0]!.pgd.translate(userVpn(0))!;
    expect(mine.write).toBe(true);
    expect(mine.frame).not.toBe(shared);
    expect(s.world.kernel.mem.owners(shared)).toEqual([1]);
    expect(checkedStep(s, WRITE)).toEqual([]);
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: true });
  });
});

describe('a shared frame and the use-after-free and leak checks (I-UAF-DMA, findLeaks)', () => {
  /** The child's device reads the page it shares with the parent; then each side unmaps it. */
  const SHARED: readonly Command[] = [
    { kind: 'spawn', mm: 0 },
    { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
    { kind: 'touch', mm: 0, page: 0, write: true },
    { kind: 'fork', mm: 0, child: 1 },
    { kind: 'bind', dev: 0, mm: 1 },
    { kind: 'dma', dev: 0, mm: 1, page: 0, write: false },
    { kind: 'munmap', mm: 0, first: 0, count: 1 },
    { kind: 'dma', dev: 0, mm: 1, page: 0, write: false },
    { kind: 'munmap', mm: 1, first: 0, count: 1 },
  ];
  const READ: Command = { kind: 'dma', dev: 0, mm: 1, page: 0, write: false };

  test('the parent\'s unmap leaves the child\'s page readable and live; the child\'s frees it; nothing leaks', () => {
    const s = openSession(defaultTopology('vtd'));
    for (const c of SHARED) expect(checkedStep(s, c)).toEqual([]);
    // The child read the parent's content both times, before and after the parent's munmap.
    expect(s.steps[5]!.actual).toEqual(s.steps[7]!.actual);
    expect(s.steps[5]!.actual).toMatchObject({ ok: true });
    expect(checkedStep(s, READ)).toEqual([]);
    expect(findLeaks(s.world).filter((l) => l.kind === 'frame')).toEqual([]);
  });

  test('a driver that forgets its invalidations lets the child\'s device read the frame once the last mapping freed it: I-UAF-DMA', () => {
    const s = openSession(defaultTopology('vtd'), { driver: withoutSecondaryTlbFlush(driverFor('vtd')) });
    // Until the child's own munmap every access is legitimate: the parent's unmap freed nothing.
    for (const c of SHARED.slice(0, 8)) expect(checkedStep(s, c).map((v) => v.invariant)).not.toContain('I-UAF-DMA');
    checkedStep(s, SHARED[8]!);
    expect(checkedStep(s, READ).map((v) => v.invariant)).toContain('I-UAF-DMA');
  });
});
