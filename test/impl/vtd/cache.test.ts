import { describe, expect, test } from 'vitest';
import { ULONG_MAX, seedThreadTopology, userVpn, vpnToVa, type Command, type Topology } from '../../../src/shared/index.js';
import { runSequence } from '../../../src/harness/index.js';
import { calculate_psi_aligned_address, cache_tag_flush_range, cache_tag_flush_all } from '../../../src/impl/vtd/cache.js';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from '../../../src/impl/core/mmuNotifier.js';
import { sync } from '../../../src/impl/core/sched.js';
import { bindAll, dmaAll, populated, vtdWorld } from './fixture.js';

const kinds = ['qi.pc', 'qi.piotlb', 'qi.iotlb_dsi', 'qi.iotlb_psi', 'qi.devtlb', 'qi.wait'];
const count = (snap: Record<string, number>): Record<string, number> =>
  Object.fromEntries(kinds.map((k) => [k, snap[k] ?? 0]));

describe('cache_tag_flush_range', () => {
  test('the seed thread case: one munmap on 4 ATS devices behind one IOMMU is 1 P_IOTLB + 4 devTLB + 1 wait', () => {
    const w = vtdWorld();
    w.run(...populated(2), ...bindAll([0, 1, 2, 3]), ...dmaAll([0, 1, 2, 3], 0));
    const before = count(w.iommu(0).unit.counters.snapshot());
    w.takeQueue();
    w.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const after = count(w.iommu(0).unit.counters.snapshot());
    const delta = Object.fromEntries(kinds.map((k) => [k, after[k]! - before[k]!]));
    expect(delta).toEqual({ 'qi.pc': 0, 'qi.piotlb': 1, 'qi.iotlb_dsi': 0, 'qi.iotlb_psi': 0, 'qi.devtlb': 4, 'qi.wait': 1 });
    const page = userVpn(0).toString(16);
    expect(w.takeQueue(0)).toEqual([
      `piotlb did=1 pasid=1 addr=${page} am=0`,
      `devtlb sid=0 pasid=1 addr=${page} size=2^0`, `devtlb sid=1 pasid=1 addr=${page} size=2^0`,
      `devtlb sid=2 pasid=1 addr=${page} size=2^0`, `devtlb sid=3 pasid=1 addr=${page} size=2^0`,
      'wait',
    ]);
    // Nothing stale: the IOTLB, the ATCs and the DMA all see the page gone.
    expect(w.iommu(0).unit.iotlb.entries().some((e) => e.vpn === userVpn(0))).toBe(false);
    expect(w.run(...dmaAll([0, 1, 2, 3], 0)).every((o) => !o.ok)).toBe(true);
    expect(w.run(...dmaAll([0], 1))[0]).toMatchObject({ ok: true });
  });

  test('with two IOMMUs each gets its own P_IOTLB, its own devTLBs and its own wait', () => {
    const w = vtdWorld(seedThreadTopology(2));
    w.run(...populated(1), ...bindAll([0, 1, 2, 3, 4, 5, 6, 7]));
    w.takeQueue();
    w.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const all = w.takeQueue();
    for (const i of [0, 1]) {
      const q = all.filter((d) => d.startsWith(`vtd${i} `)).map((d) => d.slice(5));
      expect(q.filter((d) => d.startsWith('piotlb'))).toHaveLength(1);
      expect(q.filter((d) => d.startsWith('devtlb'))).toHaveLength(4);
      expect(q.at(-1)).toBe('wait');
      expect(q.filter((d) => d === 'wait')).toHaveLength(1);
      expect(q[0]).toMatch(/^piotlb/);
    }
    expect(w.world.mms[0]!.iommu_mm!.sva_domains).toHaveLength(1);
  });

  test('a batch is submitted when it holds 16 descriptors, then the rest with another wait', () => {
    const one = seedThreadTopology().devices[0]!;
    const topo: Topology = { ...seedThreadTopology(), devices: Array.from({ length: 16 }, (_, i) => ({ ...one, group: i })) };
    const w = vtdWorld(topo);
    w.run(...populated(1), ...bindAll(Array.from({ length: 16 }, (_, i) => i)));
    w.takeQueue();
    w.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const q = w.takeQueue(0);
    expect(q).toHaveLength(19);
    expect(q[16]).toBe('wait');
    expect(q.at(-1)).toBe('wait');
  });

  test('(0, ULONG_MAX) flushes all: PASID-selective P_IOTLB and whole-space devTLB', () => {
    const w = vtdWorld();
    w.run(...populated(1), ...bindAll([0, 1]));
    w.takeQueue();
    sync(w.world.kernel, cache_tag_flush_all(w.domainOf(0)));
    expect(w.takeQueue(0)).toEqual([
      'piotlb did=1 pasid=1 all', 'devtlb sid=0 pasid=1 addr=0 size=2^52', 'devtlb sid=1 pasid=1 addr=0 size=2^52', 'wait',
    ]);
  });

  test('the notifier converts the exclusive end to an inclusive one before the PSI', () => {
    const w = vtdWorld();
    w.run(...populated(4), ...bindAll([0]));
    w.takeQueue();
    const mm = w.world.mms[0]!;
    // Pages 2 and 3 are vpns 0x40200 and 0x40201: two aligned pages, AM 1 (not 3 pages, AM 2).
    sync(mm.kernel, mmu_notifier_arch_invalidate_secondary_tlbs(mm, vpnToVa(userVpn(2)), vpnToVa(userVpn(3) + 1)));
    expect(w.takeQueue(0)[0]).toBe('piotlb did=1 pasid=1 addr=40200 am=1');
    // Pages 1..2 straddle a 512-page boundary: widened to the 1024-page block at 0x40000.
    sync(mm.kernel, mmu_notifier_arch_invalidate_secondary_tlbs(mm, vpnToVa(userVpn(1)), vpnToVa(userVpn(2) + 1)));
    expect(w.takeQueue(0)[0]).toBe('piotlb did=1 pasid=1 addr=40000 am=10');
    sync(mm.kernel, mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0n, ULONG_MAX));
    expect(w.takeQueue(0)[0]).toBe('piotlb did=1 pasid=1 all');
  });

  test('flushing a range drops what the IOMMU and the ATCs cached inside it and keeps the rest', () => {
    const w = vtdWorld();
    w.run(...populated(4), ...bindAll([0]), ...[0, 1, 2, 3].flatMap((p) => dmaAll([0], p)));
    sync(w.world.kernel, cache_tag_flush_range(w.domainOf(0), vpnToVa(userVpn(2)), vpnToVa(userVpn(3) + 1) - 1n, false));
    expect(w.world.devices[0]!.hw.atcEntries().map((e) => e.vpn)).toEqual([userVpn(0), userVpn(1)]);
  });
});

describe('calculate_psi_aligned_address', () => {
  const va = (pfn: number): bigint => BigInt(pfn) << 12n;
  test.each([
    { what: 'one page', start: va(0x40000), end: va(0x40001) - 1n, addr: va(0x40000), pages: 1n, mask: 0 },
    { what: 'three pages round up to four', start: va(0x40000), end: va(0x40003) - 1n, addr: va(0x40000), pages: 4n, mask: 2 },
    { what: 'a sub-page range is one page', start: va(5) + 8n, end: va(5) + 100n, addr: va(5), pages: 1n, mask: 0 },
    { what: 'two pages across a 2-page boundary widen to 4', start: va(3), end: va(5) - 1n, addr: va(0), pages: 8n, mask: 3 },
    { what: 'an unaligned pair inside a block of 4', start: va(5), end: va(7) - 1n, addr: va(4), pages: 4n, mask: 2 },
    { what: 'a range crossing a 2^20 boundary', start: va(0xfffff), end: va(0x100001) - 1n, addr: va(0), pages: 1n << 21n, mask: 21 },
  ])('$what', ({ start, end, addr, pages, mask }) => {
    const r = calculate_psi_aligned_address(start, end);
    expect(r).toEqual({ addr, pages, mask });
    // Whatever the widening, the flushed block covers [start, end].
    const block = 1n << (12n + BigInt(r.mask));
    expect(r.addr <= start && end < r.addr + block).toBe(true);
  });

  test('a range up to ULONG_MAX - 1 wraps as u64 and still covers itself', () => {
    const start = 0xffffc90000000000n;
    const r = calculate_psi_aligned_address(start, ULONG_MAX - 1n);
    expect(r).toEqual({ addr: 0xffffc00000000000n, pages: 1n << 34n, mask: 34 });
    expect(r.addr + (1n << 46n) - 1n).toBe(ULONG_MAX);
  });
});

describe('cache_tag_flush_devtlb_psi and a surprise-removed device (finding vtd-drain-devtlb-absent)', () => {
  // dev0 a PRI device; its page request is still queued when it is unplugged, so the unplug's
  // drain serves it, and the write fault it handles invalidates the mm: dev0's DEVTLB tag is
  // still assigned then (domain_remove_dev_pasid comes after the drain).
  const t: Topology = {
    platform: 'vtd', iommus: [{ pasidBits: 11, didBits: 16, asidBits: 4, rangeInv: true, prqSize: 3 }],
    devices: [{ iommu: 0, group: 0, pasidBits: 3, ats: true, pri: true }], mms: 1, pages: 1, kpages: 0, ptLevels: 4,
  };
  const cmds: Command[] = [
    { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'r' }, { kind: 'bind', dev: 0, mm: 0 },
    { kind: 'mprotect', mm: 0, page: 0, prot: 'rw' }, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 1, write: false, rid: false, last: true },
    { kind: 'dma', dev: 0, mm: 0, page: 0, write: true }, { kind: 'unplug', dev: 0 },
  ];

  test('mainline sends it a devTLB invalidation, which times out: the finding, excused', () => {
    const r = runSequence(t, cmds);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    expect(r.value.session.known.map((k) => k.finding)).toEqual(['vtd-drain-devtlb-absent']);
  });

  test('the complete fix skips the removed device here too: no time-out at all, strictly clean', () => {
    const r = runSequence(t, cmds, { fixes: ['vtd-drain-devtlb-absent'], strict: true });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    expect(r.value.session.known).toEqual([]);
  });
});
