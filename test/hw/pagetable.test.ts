import { describe, expect, test } from 'vitest';
import { KERNEL_BASE_VPN, kernelVpn, userVpn } from '../../src/shared/index.js';
import { KERNEL_OWNER, PhysMem, PTE_U, pteFrame } from '../../src/hw/mem.js';
import { CpuPageTable, KernelSpace } from '../../src/hw/pagetable.js';
import { levelIndex } from '../../src/hw/radix.js';

describe('CpuPageTable and KernelSpace', () => {
  test.each([4, 5] as const)('the kernel half is shared by two mms (%i levels)', (levels) => {
    const m = new PhysMem();
    const k = new KernelSpace(m, levels);
    const a = new CpuPageTable(m, levels, 0, k);
    const b = new CpuPageTable(m, levels, 1, k);
    const f = m.alloc('data', KERNEL_OWNER, 9);
    k.map(kernelVpn(1), f, true, false);
    expect(pteFrame(a.lookup(kernelVpn(1)))).toBe(f);
    expect(pteFrame(b.lookup(kernelVpn(1)))).toBe(f);
    expect(m.entry(a.pgd, k.topIndex)).toBe(m.entry(b.pgd, k.topIndex));
    expect(levelIndex(KERNEL_BASE_VPN, levels)).toBe(k.topIndex);
  });

  test('the kernel top entry and kernel leaves are supervisor-only; translate refuses them', () => {
    const m = new PhysMem();
    const k = new KernelSpace(m, 4);
    const a = new CpuPageTable(m, 4, 0, k);
    k.map(kernelVpn(0), m.alloc('data', KERNEL_OWNER), true, false);
    expect(k.topEntry & PTE_U).toBe(0);
    expect(a.translate(kernelVpn(0))).toBeUndefined();
  });

  test('translate reports a user leaf with its write bit', () => {
    const m = new PhysMem();
    const a = new CpuPageTable(m, 4, 0, new KernelSpace(m, 4));
    const f = m.alloc('data', 0);
    a.map(userVpn(3), f, false);
    expect(a.translate(userVpn(3))).toEqual({ frame: f, write: false });
    expect(a.translate(userVpn(2))).toBeUndefined();
  });

  test('vfree of a kernel page frees its kernel PTE table, which the next allocation reuses', () => {
    const m = new PhysMem();
    const k = new KernelSpace(m, 4);
    const a = new CpuPageTable(m, 4, 0, k);
    k.map(kernelVpn(0), m.alloc('data', KERNEL_OWNER), true, false);
    k.map(kernelVpn(1), m.alloc('data', KERNEL_OWNER), true, false);
    k.unmap(kernelVpn(1));
    const freed = k.freeEmptyTables(kernelVpn(1));
    expect(freed).toHaveLength(1); // kpage 1's own PTE table; the PMD still maps kpage 0
    expect(m.alloc('table', 0)).toBe(freed[0]);
    expect(pteFrame(a.lookup(kernelVpn(0)))).not.toBe(0);
    // A user pgd never frees the shared kernel tables.
    expect(a.freeEmptyTables(kernelVpn(1))).toEqual([]);
  });

  test('destroy frees every user table and the pgd, returns the data frames, keeps the kernel half', () => {
    const m = new PhysMem();
    const k = new KernelSpace(m, 4);
    const a = new CpuPageTable(m, 4, 0, k);
    const kf = m.alloc('data', KERNEL_OWNER);
    k.map(kernelVpn(0), kf, true, false);
    const frames = [0, 1, 2].map((p) => {
      const f = m.alloc('data', 0, p);
      a.map(userVpn(p), f, true);
      return f;
    });
    const tables = m.liveFrames('table').filter((t) => m.owner(t) === 0);
    expect(a.destroy()).toEqual(frames);
    expect(tables.every((t) => m.kind(t) === 'free')).toBe(true);
    expect(m.liveFrames('table').every((t) => m.owner(t) === KERNEL_OWNER)).toBe(true);
    // The freed pgd still holds its stale entries for a walker that kept FLPTR.
    expect(pteFrame(m.hwEntry(a.pgd, k.topIndex, 'vtd0'))).toBe(k.root);
    expect(m.takeAnomalies()).toHaveLength(1);
  });
});
