/**
 * The benchmarks' workload: legal command sequences, generated with a fixed seed and filtered
 * by the spec (not timed). The kernel steps beside the spec while they are filtered: with an
 * injection armed the spec needs to know which call the kernel failed.
 */
import fc from 'fast-check';
import { svaCommand } from '../models/index.js';
import { driverFor, stepBoth } from '../src/harness/index.js';
import { createWorld } from '../src/impl/index.js';
import type { Command, Topology } from '../src/shared/index.js';
import { initSpec, precondition } from '../src/spec/index.js';

export const legalSequences = (t: Topology, seed: number, count: number): Command[][] => {
  const raw = fc.sample(fc.array(svaCommand(t).map((c) => c.cmd), { minLength: 100, maxLength: 400 }), { seed, numRuns: count });
  const driver = driverFor(t.platform);
  return raw.map((cmds) => {
    const s = initSpec(t);
    const w = createWorld(t, driver);
    const legal: Command[] = [];
    for (let i = 0; i < t.mms; i++) {
      const spawn: Command = { kind: 'spawn', mm: i };
      stepBoth(s, w, spawn);
      legal.push(spawn);
    }
    for (const c of cmds) if (precondition(s, c)) {
      stepBoth(s, w, c);
      legal.push(c);
    }
    return legal;
  });
};
