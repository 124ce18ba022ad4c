import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { initialTransition, transition } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { ALL_TRANSITIONS, bondTable, domainTable, mmTable, pasidTable } from '../../../src/spec/index.js';
import type { CompiledMachine } from '../../../src/spec/index.js';

type AnyTable = CompiledMachine<object, { readonly type: string }>;

/** Drives the compiled table and xstate's transition() through the same events, step by step. */
const sameRun = (table: AnyTable, machine: AnyStateMachine, events: { type: string }[]): void => {
  const inst = table.create();
  let [snap] = initialTransition(machine);
  expect(table.states[inst.state]).toBe(snap.value);
  expect(inst.ctx).toEqual(snap.context);
  for (const e of events) {
    [snap] = transition(machine, snap, e as never);
    table.send(inst, e, undefined);
    expect(table.states[inst.state]).toBe(snap.value);
    expect(inst.ctx).toEqual(snap.context);
  }
};

const eventsOf = (...evs: fc.Arbitrary<{ type: string }>[]) => fc.array(fc.oneof(...evs), { maxLength: 40 });
const simple = (type: string) => fc.constant({ type });

describe('the compiled tables behave exactly like xstate', () => {
  test('mm', () => {
    fc.assert(fc.property(
      eventsOf(simple('spawn'), simple('fork'), simple('exit'), simple('unpin'), fc.boolean().map((pinned) => ({ type: 'mmdrop', pinned }))),
      (evs) => sameRun(mmTable as unknown as AnyTable, mmTable.machine, evs),
    ), { numRuns: 300, seed: 300 });
  });

  test('pasid', () => {
    fc.assert(fc.property(
      eventsOf(simple('free'), fc.integer({ min: 1, max: 99 }).map((pasid) => ({ type: 'assign', pasid }))),
      (evs) => sameRun(pasidTable as unknown as AnyTable, pasidTable.machine, evs),
    ), { numRuns: 300, seed: 300 });
  });

  test('bond', () => {
    fc.assert(fc.property(eventsOf(simple('bind'), simple('unbind'), simple('exit')),
      (evs) => sameRun(bondTable as unknown as AnyTable, bondTable.machine, evs)), { numRuns: 300, seed: 300 });
  });

  test('domain', () => {
    fc.assert(fc.property(eventsOf(simple('alloc'), simple('discard'), simple('attach'), simple('detach')),
      (evs) => sameRun(domainTable as unknown as AnyTable, domainTable.machine, evs)), { numRuns: 300, seed: 300 });
  });

  test('send returns the id of the transition taken, or -1 when none is enabled', () => {
    const inst = bondTable.create();
    const id = bondTable.send(inst, { type: 'bind' }, undefined);
    expect(ALL_TRANSITIONS[id]).toMatchObject({ machine: 'bond', source: 'unbound', event: 'bind', target: 'bound' });
    expect(bondTable.send(bondTable.create(), { type: 'unbind' }, undefined)).toBe(-1);
  });

  test('transition ids are dense and unique across machines', () => {
    expect(ALL_TRANSITIONS.map((t) => t.id)).toEqual(ALL_TRANSITIONS.map((_, i) => i));
    expect(ALL_TRANSITIONS).toHaveLength(22);
  });
});
