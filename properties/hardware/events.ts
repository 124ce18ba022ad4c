/**
 * Reading a unit's step log (probe.ts): finding events in order, completions between two
 * positions, and a unit's slice of one invalidation. Plain loops: these run after every step.
 */
import type { ProbeEvent, StepProbe, UnitLog } from '../probe.js';

/** First index k in [from, to) whose event satisfies `pred`, or -1. */
export function findEvent(log: UnitLog, from: number, to: number, pred: (e: ProbeEvent, k: number) => boolean): number {
  for (let k = from; k < to; k++) if (pred(log.events[k]!, k)) return k;
  return -1;
}

/** Index of the first successful wait/sync completion in (after, to), or -1. */
export function completionAfter(log: UnitLog, after: number, to: number): number {
  for (let k = after + 1; k < to; k++) {
    const e = log.events[k]!;
    if (e.kind === 'completion' && e.ok) return k;
  }
  return -1;
}

/** Unit u's slice [from, to) of invalidation i. */
export function invalidationSlice(probe: StepProbe, i: number, u: number): { from: number; to: number } {
  const inv = probe.invalidations;
  const at = i * probe.units.length + u;
  return { from: inv.from[at]!, to: inv.to[at]! };
}

/** Whether event k of unit u falls inside any invalidation of the step. */
export function insideInvalidation(probe: StepProbe, u: number, k: number): number {
  const inv = probe.invalidations;
  const units = probe.units.length;
  for (let i = 0; i < inv.n; i++) {
    const at = i * units + u;
    if (k >= inv.from[at]! && k < inv.to[at]!) return i;
  }
  return -1;
}
