import { describe, expect, test } from 'vitest';
import { runSequence } from '../../../src/harness/index.js';
import type { AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { dev_fault_param, iopf_counts } from '../../../src/impl/core/iopf.js';
import { type Command, type Topology, defaultTopology } from '../../../src/shared/index.js';

/** dev0 a PRI endpoint behind an AMD IOMMU whose PPR log holds `prqSize` entries. */
const topo = (prqSize?: number): Topology => {
  const t = defaultTopology('amd');
  return {
    ...t,
    iommus: t.iommus.map((u) => (prqSize === undefined ? u : { ...u, prqSize })),
    devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)),
  };
};
const start: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }];
const dma = (page: number): Command => ({ kind: 'dma', dev: 0, mm: 0, page, write: false });
const prg = (page: number, count: number, last = true): Command => ({ kind: 'prg', dev: 0, mm: 0, page, count, write: false, rid: false, last });
const run = (t: Topology, cmds: Command[]) => {
  const r = runSequence(t, cmds);
  if (!r.ok) throw new Error(r.error);
  return r.value.session;
};

describe('the AMD PPR log and its IRQ thread (amd_iommu_int_thread_pprlog)', () => {
  test('a two-request group (tag bit 9 on the second) becomes one iopf group: one Success for both', () => {
    const s = run(topo(), [...start, prg(0, 2), { kind: 'serviceFaults' }]);
    expect(s.violation).toBeUndefined();
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true, value: 2 });
    expect(s.world.devices[0]!.hw.counters.get('pri.response.success')).toBe(1);
    expect(iopf_counts(s.world.kernel).multiGroups).toBe(1);
  });

  test('an overflow: the request finding the log full is discarded unanswered and logging stops; the thread counts it and restarts the log', () => {
    const s = run(topo(1), [...start, dma(0), dma(1)]);
    expect(s.violation).toBeUndefined();
    const unit = s.world.iommus[0]!.unit as AmdIommuUnit;
    expect([unit.pprLog.pending.length, unit.pprLog.halted]).toEqual([1, true]);
    const after = run(topo(1), [...start, dma(0), dma(1), { kind: 'serviceFaults' }, dma(2)]);
    expect(after.violation).toBeUndefined();
    const u2 = after.world.iommus[0]!.unit as AmdIommuUnit;
    expect(iopf_counts(after.world.kernel).overflows).toBe(1);
    // Restarted: the next request is logged.
    expect([u2.pprLog.halted, u2.pprLog.pending.length]).toEqual([false, 1]);
    // The first was answered; the discarded one waits for good (holding a credit), the last is queued.
    expect(after.steps[5]!.actual).toEqual({ ok: true, value: 1 });
    expect(after.world.devices[0]!.hw.priState!.outstanding.map((r) => r.lost === true)).toEqual([true, false]);
  });

  test('the restart keeps the partial requests (ppr.c has no iopf_queue_discard_partial)', () => {
    const s = run(topo(1), [...start, prg(0, 2), { kind: 'serviceFaults' }]);
    expect(s.violation).toBeUndefined();
    expect(iopf_counts(s.world.kernel).overflows).toBe(1);
    expect(dev_fault_param(s.world.devices[0]!)!.partial).toHaveLength(1);
  });
});
