import { describe, expect, test } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { AnyEventObject, AnyStateMachine } from 'xstate';
import { bondMachine, domainMachine, mmMachine, pasidMachine } from '../../../src/spec/index.js';

/** Drives xstate's own pure transition() and returns the visited (value, context) pairs. */
const drive = (m: AnyStateMachine, events: AnyEventObject[]): { value: unknown; context: unknown }[] => {
  let [snap] = initialTransition(m);
  const out = [{ value: snap.value, context: snap.context }];
  for (const e of events) {
    [snap] = transition(m, snap, e);
    out.push({ value: snap.value, context: snap.context });
  }
  return out;
};
const values = (m: AnyStateMachine, events: AnyEventObject[]) => drive(m, events).map((x) => x.value);

describe('the lifecycle machines through their transitions', () => {
  test('mm: unborn → live → exited → dropped → freed → live', () => {
    expect(values(mmMachine, [
      { type: 'spawn' }, { type: 'exit' }, { type: 'mmdrop', pinned: true }, { type: 'unpin' }, { type: 'fork' },
    ])).toEqual(['unborn', 'live', 'exited', 'dropped', 'freed', 'live']);
  });

  test('mm: an unpinned mmdrop frees at once, and exit is ignored unless live', () => {
    expect(values(mmMachine, [
      { type: 'fork' }, { type: 'mmdrop', pinned: false }, { type: 'exit' }, { type: 'mmdrop', pinned: false }, { type: 'spawn' },
    ])).toEqual(['unborn', 'live', 'live', 'exited', 'freed', 'live']);
  });

  test('pasid: none → assigned (with its value) → freed, which is final', () => {
    const trace = drive(pasidMachine, [{ type: 'assign', pasid: 7 }, { type: 'free' }, { type: 'assign', pasid: 3 }]);
    expect(trace.map((x) => x.value)).toEqual(['none', 'assigned', 'freed', 'freed']);
    expect(trace[1]!.context).toEqual({ pasid: 7 });
    expect(trace[2]!.context).toEqual({ pasid: 0 });
  });

  test('bond: counts references, goes defunct on exit, and unbinds from defunct', () => {
    const trace = drive(bondMachine, [
      { type: 'bind' }, { type: 'bind' }, { type: 'unbind' }, { type: 'bind' }, { type: 'exit' },
      { type: 'unbind' }, { type: 'unbind' }, { type: 'exit' },
    ]);
    expect(trace.map((x) => x.value)).toEqual(
      ['unbound', 'bound', 'bound', 'bound', 'bound', 'defunct', 'defunct', 'unbound', 'unbound']);
    expect(trace.map((x) => (x.context as { n: number }).n)).toEqual([0, 1, 2, 1, 2, 2, 1, 0, 0]);
  });

  test('domain: alloc, extra users, last detach frees; a failed first attach discards', () => {
    const trace = drive(domainMachine, [{ type: 'alloc' }, { type: 'attach' }, { type: 'detach' }, { type: 'detach' }]);
    expect(trace.map((x) => x.value)).toEqual(['absent', 'attached', 'attached', 'attached', 'freed']);
    expect(trace.map((x) => (x.context as { users: number }).users)).toEqual([0, 1, 2, 1, 0]);
    expect(values(domainMachine, [{ type: 'discard' }, { type: 'alloc' }])).toEqual(['absent', 'freed', 'freed']);
  });

  test('every transition carries a description and names its guards and actions', () => {
    for (const m of [mmMachine, pasidMachine, bondMachine, domainMachine]) {
      for (const node of Object.values(m.root.states)) {
        for (const defs of node.transitions.values()) {
          for (const d of defs) {
            expect(d.description, `${m.id}.${node.key}`).toMatch(/\w/);
            if (d.guard !== undefined) expect(typeof d.guard).toBe('string');
            for (const a of d.actions) expect(typeof a).toBe('string');
          }
        }
      }
    }
  });
});
