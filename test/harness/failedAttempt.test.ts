import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * Which IOPF group allocation a failNth failed (the step asks the spec each candidate attempt):
 * on AMD, dev0's two groups on amd0 are allocated first, then dev1's on amd1, whose allocation
 * fails; its abort group is answered Response Failure and dev1's PRI is off. Every candidate
 * leaves the same requests outstanding, so the step tells them apart by which endpoint a
 * Failure turned off (a run with --seed 4242 once took the first candidate and expected dev1's
 * next DMA to succeed).
 */
const t: Topology = {
  platform: 'amd',
  iommus: [{ pasidBits: 2, didBits: 16, asidBits: 2, rangeInv: true, prqSize: 16 }, { pasidBits: 3, didBits: 16, asidBits: 2, rangeInv: false, prqSize: 16 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 1, group: 1, pasidBits: 20, ats: true, pri: true }],
  mms: 2, pages: 2, kpages: 0, ptLevels: 5,
};
const cmds: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'spawn', mm: 1 }, { kind: 'bind', dev: 1, mm: 0 },
  { kind: 'prg', dev: 1, mm: 0, page: 0, count: 2, write: true, last: true, rid: false },
  { kind: 'bind', dev: 0, mm: 1 }, { kind: 'prg', dev: 0, mm: 1, page: 1, count: 1, write: true, last: true, rid: false },
  { kind: 'dma', dev: 0, mm: 1, page: 0, write: true }, { kind: 'failNth', n: 3 }, { kind: 'serviceFaults' },
  { kind: 'dma', dev: 1, mm: 0, page: 0, write: false },
];

describe('the failed attempt of an injected serviceFaults', () => {
  test('AMD: the third group allocation (dev1\'s) failed: its PRI is off in the kernel and the spec, and its next miss faults', () => {
    const r = runSequence(t, cmds);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.world.devices[1]!.hw.priState!.responseFailure).toBe(true);
    expect(s.spec.priFailed[1]).toBe(1);
    expect(s.spec.priFailed[0]).toBe(0);
    expect(s.steps.at(-1)!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
  });
});

/**
 * VT-d: a bind's attempt on the mm's domain fails at dev1 (the group's second device) and its
 * unwind drains dev0's IOMMU, taking the RID request that a full PRQ left there (its LAST was
 * dropped). Both candidates, dev0's attach or dev1's, leave the same requests outstanding at
 * the endpoint; only the PRQ tells them apart (bench seed 801767 once took the first and
 * expected the request still queued).
 */
const vtd: Topology = {
  platform: 'vtd',
  iommus: [{ pasidBits: 2, didBits: 16, asidBits: 2, rangeInv: false, prqSize: 1 }, { pasidBits: 3, didBits: 16, asidBits: 3, rangeInv: true, prqSize: 2 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false }, { iommu: 1, group: 1, pasidBits: 3, ats: true, pri: false }],
  mms: 1, pages: 2, kpages: 0, ptLevels: 4,
};
const vtdCmds: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'exit', mm: 0 }, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, last: true, rid: true },
  { kind: 'mmdrop', mm: 0 }, { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 2, mm: 0 }, { kind: 'failNth', n: 9 }, { kind: 'bind', dev: 0, mm: 0 },
];

describe('the failed attempt of an injected bind', () => {
  test('VT-d: the attach failed at dev1, so dev0\'s unwind drained the PRQ in the kernel and the spec', () => {
    const r = runSequence(vtd, vtdCmds);
    if (!r.ok) throw new Error(r.error);
    const s = r.value.session;
    expect(s.violation).toBeUndefined();
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true, value: 1 });
    expect(s.spec.prq).toEqual([]);
    expect(s.spec.prqOverflow[0]).toBe(0);
  });
});
