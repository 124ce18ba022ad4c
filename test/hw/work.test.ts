import { describe, expect, test } from 'vitest';
import { DEFAULT_WEIGHTS, searchForViolation, topologyFor } from '../../models/index.js';
import { driverFor, runSequence } from '../../src/harness/index.js';
import { SoftLockup, armWorkMeter, disarmWorkMeter, hwWork } from '../../src/hw/work.js';
import { defaultTopology } from '../../src/shared/index.js';
import { bind, dma, mmap, spawn, touch } from '../commands.js';
import { endlessHwLoop } from '../fixtures/loopingDrivers.js';

describe('The hardware-work meter (soft-lockup detector)', () => {
  test('Armed, it throws once the budget is spent and disarms itself; disarmed, it never throws', () => {
    armWorkMeter(3);
    hwWork();
    hwWork();
    hwWork();
    expect(() => hwWork()).toThrow(SoftLockup);
    expect(() => hwWork()).not.toThrow();
    expect(disarmWorkMeter()).toBe(5);
    for (let i = 0; i < 10_000; i++) hwWork();
  });

  test('A real run stays far below the budget: the walks and queues of a bound DMA are a few units', () => {
    const r = runSequence(defaultTopology('vtd'), [spawn(0), mmap(0, 0, 2), touch(0, 0), bind(0, 0), dma(0, 0, 0)]);
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test('A driver loop that never ends is I-LOCKUP at its step, with the trace of the run (not EXC, not a hang)', () => {
    for (const platform of ['vtd', 'smmuv3'] as const) {
      const t = defaultTopology(platform);
      const r = runSequence(t, [spawn(0), bind(0, 0), dma(0, 0, 0)], { driver: endlessHwLoop(driverFor(platform)) });
      if (!r.ok) throw new Error(r.error);
      const v = r.value.session.violation;
      expect(v).toMatchObject({ invariant: 'I-LOCKUP', step: 1, objects: { dev: 0, mm: 0 } });
      expect(v?.message).toMatch(/^watchdog: BUG: soft lockup in bind\(d0,mm0\): \d+ units of hardware work/);
      expect(r.value.session.commands).toHaveLength(2);
    }
  });

  test('The search finds the lockup and shrinks it to spawn + bind', () => {
    const out = searchForViolation({
      topologies: topologyFor('vtd', { mode: 'default' }), seed: 3, budget: { runs: 25 },
      driver: endlessHwLoop(driverFor('vtd')), weights: DEFAULT_WEIGHTS,
    });
    expect(out.error).toBeUndefined();
    expect(out.counterexample?.violation?.invariant).toBe('I-LOCKUP');
    expect(out.counterexample?.commands.map((c) => c.kind)).toEqual(['spawn', 'bind']);
  });
});
