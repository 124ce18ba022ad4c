/**
 * Shrinking for state-aware runs. A drawn sequence has no fast-check shrink tree (its commands
 * come from a run seed), so shrinking works on the command list. A candidate deletion is run
 * leniently, as fc.modelRun runs a shrunk fc.commands list: a command whose precondition no
 * longer holds is skipped, so deleting `spawn(mm1)` drops everything that needed mm1 with it.
 * Chunks of halving size go first (delta debugging, Zeller and Hildebrandt, TSE 2002), then
 * single commands, then every pair of commands on short lists (a `failNext` and the bind it
 * failed go together, wherever they stand), and a fork is tried as a spawn of its child (the
 * parent may then go); the harness's strict deletion pass (src/harness/minimize.ts) has the last
 * word, so the result is 1-minimal and every command in it is legal where it stands.
 */
import { checkedStep, minimizeCommands, openSession } from '../src/harness/index.js';
import type { SessionOptions } from '../src/harness/index.js';
import type { Command, Topology } from '../src/shared/index.js';
import { precondition } from '../src/spec/index.js';

/** The commands that ran when illegal ones are skipped, if the run breaks `invariant`. */
const lenient = (topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions): Command[] | undefined => {
  const s = openSession(topology, opts);
  for (const cmd of commands) {
    if (!precondition(s.spec, cmd)) continue;
    if (checkedStep(s, cmd).length > 0) break;
  }
  return s.violation?.invariant === invariant ? s.commands : undefined;
};

const deletePass = (
  topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions, size: number,
): readonly Command[] => {
  let current = commands;
  // From the end: the tail after the cause goes first, and indices before `at` stay valid.
  for (let at = current.length - size; at >= 0; at -= size) {
    const kept = lenient(topology, [...current.slice(0, at), ...current.slice(at + size)], invariant, opts);
    // The prefix before `at` runs as before, so the indices below it still hold.
    if (kept !== undefined && kept.length < current.length) current = kept;
  }
  return current;
};

/** Longest list the quadratic pair pass runs on. */
const MAX_PAIRS = 40;

const pairPass = (topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions): readonly Command[] => {
  let current = commands;
  for (let j = current.length - 1; j > 0; j--) {
    for (let i = Math.min(j, current.length) - 1; i >= 0 && j < current.length; i--) {
      const without = current.filter((_, k) => k !== i && k !== j);
      const kept = lenient(topology, without, invariant, opts);
      if (kept !== undefined && kept.length < current.length) current = kept;
    }
  }
  return current;
};

/** fork(mm, child) → spawn(child): the child's commands stay legal, the parent's may go. */
const forkPass = (topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions): readonly Command[] => {
  let current = commands;
  for (let i = current.length - 1; i >= 0; i--) {
    const c = current[i];
    if (c?.kind !== 'fork') continue;
    const swapped = current.map((x, k): Command => (k === i ? { kind: 'spawn', mm: c.child } : x));
    const kept = lenient(topology, swapped, invariant, opts);
    if (kept !== undefined && kept.length <= current.length) current = kept;
  }
  return current;
};

export const shrinkCommands = (
  topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions = {},
): readonly Command[] => {
  let current = commands;
  for (let size = Math.floor(current.length / 2); size >= 2; size = Math.floor(size / 2)) {
    current = deletePass(topology, current, invariant, opts, size);
  }
  for (let before = Infinity; current.length < before;) {
    before = current.length;
    current = deletePass(topology, current, invariant, opts, 1);
  }
  if (current.length <= MAX_PAIRS) current = pairPass(topology, current, invariant, opts);
  current = forkPass(topology, current, invariant, opts);
  for (let before = Infinity; current.length < before;) {
    before = current.length;
    current = deletePass(topology, current, invariant, opts, 1);
  }
  return minimizeCommands(topology, current, invariant, opts);
};
