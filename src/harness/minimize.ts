/**
 * The last word on a counterexample's length: delete commands one at a time, keeping a deletion
 * when the rest is still legal and still breaks the same invariant, until no single deletion
 * does (1-minimal, the fixpoint of ddmin's finest level); then runs of two and three
 * consecutive commands, which a lifecycle often needs removed together (exit, mmdrop, spawn
 * of a slot: no one of them goes alone and leaves the rest legal), and in short traces any
 * two commands (an armed failNext and the call it fails). fast-check's shrinker is stronger on
 * most runs but can stall (its command shrinker follows the replay record of its own list, and
 * a co-shrinking argument that changes what ran confuses it); this pass makes every saved trace
 * 1-minimal regardless. Replays run without fast-check on fresh sessions, so it is exact.
 */
import type { Command, Topology } from '../shared/index.js';
import type { TraceGroup } from '../trace/index.js';
import { minimizeWithGroups } from './minimizeGroups.js';
import type { SessionOptions } from './session.js';
import { runSequence } from './sequence.js';
import { type Candidate, shrinkTopology } from './shrinkTopology.js';

/** Longest sequence worth the quadratic pass; longer ones are left as fast-check shrank them. */
const MAX_MINIMIZE = 400;
/** Longest run of consecutive commands tried as one deletion. */
const MAX_RUN = 3;
/** Up to this length, every pair of commands is also tried as one deletion. */
const MAX_PAIRS = 16;

/** The first two commands (any two) whose joint deletion keeps the failure, or undefined. */
function withoutAPair(topology: Topology, cmds: readonly Command[], invariant: string, opts: SessionOptions): readonly Command[] | undefined {
  for (let i = 0; i < cmds.length; i++) {
    for (let j = i + 2; j < cmds.length; j++) {
      const without = cmds.filter((_, k) => k !== i && k !== j);
      if (breaks(topology, without, invariant, opts)) return without;
    }
  }
  return undefined;
}

const breaks = (topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions): boolean => {
  const r = runSequence(topology, commands, opts);
  return r.ok && r.value.session.violation?.invariant === invariant;
};

export const minimizeCommands = (
  topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions = {},
): readonly Command[] => {
  if (commands.length > MAX_MINIMIZE || !breaks(topology, commands, invariant, opts)) return commands;
  let current = commands;
  for (let run = 1; run <= MAX_RUN; ) {
    let shrunk = false;
    // From the end: later commands are more often the tail after the failure's cause.
    for (let i = current.length - run; i >= 0; i--) {
      const without = [...current.slice(0, i), ...current.slice(i + run)];
      if (breaks(topology, without, invariant, opts)) {
        current = without;
        shrunk = true;
        i = Math.min(i, current.length - run + 1);
      }
    }
    // Any deletion may open new single ones: back to the finest level.
    run = shrunk ? 1 : run + 1;
    if (run > MAX_RUN && current.length <= MAX_PAIRS) {
      const fewer = withoutAPair(topology, current, invariant, opts);
      if (fewer !== undefined) {
        current = fewer;
        run = 1;
      }
    }
  }
  return current;
};

/**
 * The saved counterexample: the commands made 1-minimal, then the topology shrunk (devices,
 * IOMMUs, mm slots, pages the sequence does not need; shrinkTopology.ts), then the commands
 * once more, since a smaller machine can make a step redundant. Every candidate is re-run and
 * must break the same invariant.
 */
/** A command-list shrinker ending 1-minimal for the invariant (models/ passes its delta debugger). */
export type CommandShrinker = (
  topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions,
) => readonly Command[];

export const minimizeCounterexample = (
  topology: Topology, commands: readonly Command[], invariant: string, opts: SessionOptions = {},
  shrinkCommands: CommandShrinker = minimizeCommands, groups: readonly TraceGroup[] = [],
): Candidate => {
  if (groups.length > 0) return minimizeWithGroups(topology, commands, groups, invariant, opts);
  const cmds = shrinkCommands(topology, commands, invariant, opts);
  if (cmds.length > MAX_MINIMIZE || !breaks(topology, cmds, invariant, opts)) return { topology, commands: cmds };
  const small = shrinkTopology({ topology, commands: cmds }, (c) => breaks(c.topology, c.commands, invariant, opts));
  // Structurally unchanged: the caller gets its own topology object back (and keeps fast-check's path).
  if (JSON.stringify(small.topology) === JSON.stringify(topology)) return { topology, commands: cmds };
  return { topology: small.topology, commands: minimizeCommands(small.topology, small.commands, invariant, opts) };
};
