/**
 * Reading a unit's step log (probe.ts): finding events in order, completions between two
 * positions, and each unit's slice of each invalidation. Plain loops: these run after every step.
 */
import type { MmStruct } from '../../src/impl/index.js';
import type { CheckContext } from '../invariant.js';
import type { ProbeEvent, StepProbe, UnitLog } from '../probe.js';
import type { Sink } from './platform.js';

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

/**
 * Unit u's part of invalidation i of mm: events [from, to) of log; `at` = i * U + u indexes the
 * invalidation's inputs (invalidationInputs.ts).
 */
export interface InvalidationSlice {
  readonly i: number;
  readonly u: number;
  readonly at: number;
  readonly mm: MmStruct;
  readonly log: UnitLog;
  readonly from: number;
  readonly to: number;
}

/** Call `visit` on every unit's slice of every invalidation of the step, in order (not the interleaved ones: probe.ts). */
export function eachInvalidationSlice(ctx: CheckContext, out: Sink, visit: (ctx: CheckContext, s: InvalidationSlice, out: Sink) => void): void {
  const { probe } = ctx;
  const inv = probe.invalidations;
  const units = probe.units.length;
  for (let i = 0; i < inv.n; i++) {
    if (inv.interleaved[i] === true) continue;
    for (let u = 0; u < units; u++) {
      const at = i * units + u;
      visit(ctx, { i, u, at, mm: inv.mm[i]!, log: probe.units[u]!, from: inv.from[at]!, to: inv.to[at]! }, out);
    }
  }
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
