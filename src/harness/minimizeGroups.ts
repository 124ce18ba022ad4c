/**
 * Shrinking a counterexample that holds concurrent groups: first commands (a member removed
 * shrinks its group; a group of one becomes a sequential step), then the schedule's switches
 * one at a time, so the trace shows the fewest context switches; then the topology as for a
 * sequential trace. Every candidate is replayed on a fresh session (groups by their switches)
 * and kept only if the same invariant still fails. Once no group is left, the sequential
 * minimizer finishes the job.
 */
import type { Command, Topology } from '../shared/index.js';
import type { TraceGroup } from '../trace/index.js';
import { minimizeCommands } from './minimize.js';
import type { SessionOptions } from './session.js';
import { runSequence } from './sequence.js';
import { type Candidate, shrinkTopology } from './shrinkTopology.js';

interface Grouped {
  readonly commands: readonly Command[];
  readonly groups: readonly TraceGroup[];
}

/** Only what replay reads: the run's tasks and points are a record, rebuilt by the replay. */
const bare = (g: TraceGroup): TraceGroup => ({
  at: g.at, size: g.size, scheduler: g.scheduler, seed: g.seed, ...(g.depth === undefined ? {} : { depth: g.depth }), switches: g.switches,
});

/**
 * `c` without command i. A member j of a group leaves it: switches to j go, later task
 * indices (members after j, kernel tasks) move down by one; the points after its steps shift,
 * which is fine: the candidate is only kept if it still fails.
 */
export const withoutCommand = (c: Grouped, i: number): Grouped => {
  const groups: TraceGroup[] = [];
  for (const g of c.groups) {
    if (i >= g.at + g.size) groups.push(g);
    else if (i < g.at) groups.push({ ...g, at: g.at - 1 });
    else if (g.size > 2) {
      const j = i - g.at;
      const switches = g.switches.filter((w) => w.to !== j).map((w) => (w.to > j ? { at: w.at, to: w.to - 1 } : w));
      groups.push({ ...g, size: g.size - 1, switches });
    }
  }
  return { commands: c.commands.filter((_, k) => k !== i), groups };
};

const withoutSwitch = (c: Grouped, gi: number, k: number): Grouped => ({
  commands: c.commands,
  groups: c.groups.map((g, i) => (i === gi ? { ...g, switches: g.switches.filter((_, j) => j !== k) } : g)),
});

const breaks = (topology: Topology, c: Grouped, invariant: string, opts: SessionOptions): boolean => {
  const r = runSequence(topology, c.commands, { ...opts, groups: c.groups });
  return r.ok && r.value.session.violation?.invariant === invariant;
};

/** Commands, then switches, to a fixpoint: removing a switch can make a command removable again. */
const shrinkGrouped = (topology: Topology, start: Grouped, invariant: string, opts: SessionOptions): Grouped => {
  let cur = start;
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = cur.commands.length - 1; i >= 0; i--) {
      const next = withoutCommand(cur, i);
      if (breaks(topology, next, invariant, opts)) {
        cur = next;
        changed = true;
      }
    }
    for (let gi = 0; gi < cur.groups.length; gi++) {
      for (let k = cur.groups[gi]!.switches.length - 1; k >= 0; k--) {
        const next = withoutSwitch(cur, gi, k);
        if (breaks(topology, next, invariant, opts)) {
          cur = next;
          changed = true;
        }
      }
    }
  }
  return cur;
};

/** Longest grouped counterexample worth the passes (each candidate is a full replay). */
const MAX_GROUPED = 200;

export const minimizeWithGroups = (
  topology: Topology, commands: readonly Command[], groups: readonly TraceGroup[], invariant: string, opts: SessionOptions,
): Candidate => {
  const start: Grouped = { commands, groups: groups.map(bare) };
  if (commands.length > MAX_GROUPED || !breaks(topology, start, invariant, opts)) return { topology, commands, groups };
  let cur = shrinkGrouped(topology, start, invariant, opts);
  if (cur.groups.length === 0) cur = { commands: minimizeCommands(topology, cur.commands, invariant, opts), groups: [] };
  const small = shrinkTopology({ topology, commands: cur.commands }, (c) => breaks(c.topology, { commands: c.commands, groups: cur.groups }, invariant, opts));
  if (JSON.stringify(small.topology) === JSON.stringify(topology)) return { topology, commands: cur.commands, groups: cur.groups };
  const again = shrinkGrouped(small.topology, { commands: small.commands, groups: cur.groups }, invariant, opts);
  return { topology: small.topology, commands: again.commands, groups: again.groups };
};
