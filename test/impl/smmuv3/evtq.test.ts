import { describe, expect, test } from 'vitest';
import { runSequence } from '../../../src/harness/index.js';
import type { SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import { iopf_counts } from '../../../src/impl/core/iopf.js';
import { type Command, type Topology, defaultTopology } from '../../../src/shared/index.js';

/** dev0 a stall master, dev1 (no ATS) a plain master, both behind an SMMU whose event queue holds `prqSize` records. */
const topo = (prqSize: number): Topology => {
  const t = defaultTopology('smmuv3');
  return { ...t, iommus: t.iommus.map((u) => ({ ...u, prqSize })), devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };
};
const start: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 1, mm: 0 },
];
const dma = (dev: number, page: number): Command => ({ kind: 'dma', dev, mm: 0, page, write: false });
const run = (t: Topology, cmds: Command[]) => {
  const r = runSequence(t, cmds);
  if (!r.ok) throw new Error(r.error);
  return r.value.session;
};

describe('arm_smmu_evtq_thread on a small event queue', () => {
  test('a terminated fault record finding the queue full is lost: the thread reports the overflow once and acknowledges it', () => {
    const s = run(topo(1), [...start, dma(1, 0), dma(1, 1), dma(1, 2)]);
    expect(s.violation).toBeUndefined();
    const q = (s.world.iommus[0]!.unit as SmmuV3).evtq;
    expect([q.records.length, q.discarded, q.overflowed]).toEqual([1, 2, true]);
    const after = run(topo(1), [...start, dma(1, 0), dma(1, 1), { kind: 'serviceFaults' }, dma(1, 2), dma(1, 3), { kind: 'serviceFaults' }]);
    expect(after.violation).toBeUndefined();
    const q2 = (after.world.iommus[0]!.unit as SmmuV3).evtq;
    expect(iopf_counts(after.world.kernel).overflows).toBe(2);
    expect([q2.records.length, q2.overflowed]).toEqual([0, false]);
  });

  test('a stall behind a full queue is held, not lost: the thread reports and resumes it once there is room', () => {
    const s = run(topo(1), [...start, dma(1, 0), dma(0, 1)]);
    expect(s.violation).toBeUndefined();
    const q = (s.world.iommus[0]!.unit as SmmuV3).evtq;
    expect([q.records.length, q.length, q.overflowed]).toEqual([1, 1, false]);
    const after = run(topo(1), [...start, dma(1, 0), dma(0, 1), { kind: 'serviceFaults' }]);
    expect(after.violation).toBeUndefined();
    expect(after.steps.at(-1)!.actual).toEqual({ ok: true, value: 1 });
    expect(iopf_counts(after.world.kernel).overflows).toBe(0);
    expect(after.world.devices[0]!.hw.counters.get('pri.response.success')).toBe(1);
  });
});
