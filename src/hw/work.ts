/**
 * The hardware-work meter: the model's soft-lockup detector (kernel/watchdog.c:
 * watchdog_timer_fn, v6.17). The real detector fires when a CPU has not scheduled for
 * 2 * watchdog_thresh; the emulation has no clock, so it counts units of hardware work done
 * on behalf of one command instead: a table-entry read by a walker, a DMA access, a
 * descriptor or command queued to an invalidation queue. A step that exceeds the budget is
 * stuck in a loop (on a real machine it would run for minutes or for ever); the meter stops
 * it by throwing SoftLockup, which the checked step reports as the I-LOCKUP violation.
 *
 * One meter per thread, as the detector is per CPU: a step runs on one thread, start to end.
 * Outside a checked step the meter is disarmed and costs one increment and one compare.
 */

/** Far above any finite command of the harness's topologies (a munmap of every page walks a few thousand entries). */
export const STEP_WORK_BUDGET = 1 << 22;

export class SoftLockup extends Error {
  override readonly name = 'SoftLockup';
  constructor(readonly spent: number, readonly budget: number) {
    super(`soft lockup: ${spent} units of hardware work in one step (the budget is ${budget})`);
  }
}

let spent = 0;
let limit = Infinity;

/** One unit of hardware work: called by the emulated units, never by the kernel logic. */
export const hwWork = (): void => {
  if (++spent > limit) {
    const budget = limit;
    // Disarmed at once: the unwinding (and whatever the caller does next) must not trip again.
    limit = Infinity;
    throw new SoftLockup(spent, budget);
  }
};

/** The checked step arms the meter around the impl's half of one command. */
export const armWorkMeter = (budget: number): void => {
  spent = 0;
  limit = budget;
};

/** Disarms the meter; returns the work the step did. */
export const disarmWorkMeter = (): number => {
  limit = Infinity;
  return spent;
};
