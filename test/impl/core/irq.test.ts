import { describe, expect, test } from 'vitest';
import { createKernel } from '../../../src/impl/core/kernel.js';
import { ThreadedIrq } from '../../../src/impl/core/irq.js';
import { type Co, preemptPoint, schedOf, spawn, stepTask, sync } from '../../../src/impl/core/sched.js';
import { defaultTopology } from '../../../src/shared/index.js';

const P = preemptPoint('test: record taken, not yet reported');

describe('ThreadedIrq: the records a fault thread holds, and synchronize_irq', () => {
  test('a record is in flight from its take to its hand-off, and synchronize_irq waits for exactly that', () => {
    const k = createKernel(defaultTopology('vtd'));
    schedOf(k).concurrent = true;
    const irq = new ThreadedIrq('test-irq');
    const log: string[] = [];
    function* report(): Co<number> {
      yield P;
      log.push('reported');
      return 7;
    }
    let got = 0;
    const thread = spawn(k, 'irq/test', 'irq', (function* () { got = yield* irq.handle(k, report()); })());
    const flusher = spawn(k, 'flush', 'cpu', (function* () { yield* irq.synchronize(k); log.push('synchronized'); })());
    stepTask(k, thread); // takes the record and stops before reporting it
    expect(irq.inFlight).toBe(1);
    stepTask(k, flusher); // blocks: the record is still held
    expect(log).toEqual([]);
    while (stepTask(k, thread) !== undefined);
    expect(irq.inFlight).toBe(0);
    while (stepTask(k, flusher) !== undefined);
    expect(log).toEqual(['reported', 'synchronized']);
    expect(got).toBe(7);
  });

  test('with nothing in flight synchronize_irq returns at once, and a throwing handler still hands its record off', () => {
    const k = createKernel(defaultTopology('vtd'));
    const irq = new ThreadedIrq('test-irq');
    sync(k, irq.synchronize(k));
    const boom = function* (): Co { throw new Error('boom'); };
    expect(() => sync(k, irq.handle(k, boom()))).toThrow('boom');
    expect(irq.inFlight).toBe(0);
  });
});
