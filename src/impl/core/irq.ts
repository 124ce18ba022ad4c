/**
 * A threaded IRQ handler's work in progress, after kernel/irq/manage.c: synchronize_irq (v6.17),
 * which waits until no handler of the interrupt is running. The drivers' fault threads take a
 * record off their hardware queue (the consumer index written past it) before they report it,
 * so between the two the queue no longer shows the record and the IOPF core does not have it
 * yet: a flush that only reads the queue misses it; synchronize_irq does not.
 */
import { type Co, type Task, schedOf, wait } from './sched.js';
import type { Kernel } from './types.js';

export class ThreadedIrq {
  /** Tasks between taking a record and handing it on, oldest first (the thread, or a poll from process context). */
  readonly #holders: Task[] = [];

  constructor(readonly name: string) {}

  /** Records taken and not yet handed on. */
  get inFlight(): number {
    return this.#holders.length;
  }

  /** `handle` one record the current task has taken off the queue. */
  *handle<T>(kernel: Kernel, handle: Co<T>): Co<T> {
    const me = schedOf(kernel).current;
    this.#holders.push(me);
    try {
      return yield* handle;
    } finally {
      this.#holders.splice(this.#holders.indexOf(me), 1);
    }
  }

  /** kernel/irq/manage.c: synchronize_irq: until every record taken so far is handed on. */
  *synchronize(kernel: Kernel): Co {
    yield* wait(kernel, `synchronize_irq(${this.name})`, () => this.#holders.length === 0, () => this.#holders[0]);
  }
}
