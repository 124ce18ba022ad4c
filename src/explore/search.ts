/**
 * Exhaustive bounded exploration of one topology: every generatable command sequence of at
 * most `depth` commands (src/harness/enabled.ts: the legal ones), every invariant checked
 * after every step, each distinct state (fingerprint.ts) expanded once, mirror images pruned
 * (symmetry.ts).
 *
 * Worlds cannot be copied (drivers keep per-kernel state in module WeakMaps, notifiers and
 * observers are closures), so a state is re-created by replaying its path on a fresh session:
 * a transition from a state at depth d costs d + 1 checked steps. Replays run the invariants
 * too, so the invariants' own per-world history is the one a straight run would have.
 *
 * Breadth-first, a violation found at depth k has no shorter counterexample in the scope:
 * depths below k were exhausted first, and within depth k the order is fixed (states in
 * discovery order, commands in enabledCommands order), so the trace is the same on every run.
 * Depth-first keeps one path in memory instead of a whole level; a violation it finds at
 * depth k is then shortened by a breadth-first pass bounded by k - 1.
 */
import { checkedStep, openSession } from '../harness/index.js';
import type { ExploreOrder, Session, SessionOptions } from '../harness/index.js';
import { enabledCommands } from '../harness/enabled.js';
import type { Command, CommandKind, Topology } from '../shared/index.js';
import { COMMAND_KINDS, GROUP_ONLY_KINDS } from '../shared/index.js';
import type { TraceViolation } from '../trace/index.js';
import { fingerprint } from './fingerprint.js';
import { NONE_USED, NO_SYMMETRY, type Symmetry, type Used, afterCommand, representative, symmetryOf } from './symmetry.js';

export interface SearchOptions extends Pick<SessionOptions, 'fault' | 'driver'> {
  readonly depth: number;
  readonly order?: ExploreOrder;
  readonly symmetry?: boolean;
  /** Command kinds explored (default all). */
  readonly kinds?: readonly CommandKind[];
  /** Wall-clock deadline (performance.now()); the search stops there, incomplete. */
  readonly deadline?: number;
  /** Called every few hundred transitions. */
  readonly progress?: (p: SearchProgress) => void;
}

export interface SearchProgress {
  readonly depth: number;
  readonly states: number;
  readonly transitions: number;
}

export interface SearchResult {
  readonly distinctStates: number;
  readonly transitions: number;
  /** Every sequence of at most this many commands was checked. */
  readonly depthComplete: number;
  readonly timedOut: boolean;
  /** The first violation and the commands that reach it (shortest under bfs). */
  readonly violation?: TraceViolation;
  readonly commands?: readonly Command[];
}

/** A state reached: the command that led here from its parent. The root has none. */
interface Node {
  readonly parent: Node | undefined;
  readonly cmd: Command | undefined;
  readonly used: Used;
  readonly fp: string;
}

const pathOf = (n: Node): Command[] => {
  const out: Command[] = [];
  for (let at: Node | undefined = n; at?.cmd !== undefined; at = at.parent) out.push(at.cmd);
  return out.reverse();
};

const PROGRESS_EVERY = 256;

class Explorer {
  readonly seen = new Map<string, number>();
  transitions = 0;
  timedOut = false;
  found: { violation: TraceViolation; commands: Command[] } | undefined;
  private readonly sym: Symmetry;
  private readonly kinds: readonly CommandKind[];
  private readonly session: SessionOptions;

  constructor(readonly topology: Topology, readonly opts: SearchOptions) {
    this.sym = opts.symmetry === false ? NO_SYMMETRY(topology) : symmetryOf(topology);
    this.kinds = opts.kinds ?? COMMAND_KINDS.filter((k) => !GROUP_ONLY_KINDS.has(k));
    this.session = {
      ...(opts.fault === undefined ? {} : { fault: opts.fault }),
      ...(opts.driver === undefined ? {} : { driver: opts.driver }),
    };
  }

  /** A fresh session in the state `path` reaches (no violation on the way: it was checked). */
  replay(path: readonly Command[]): Session {
    const s = openSession(this.topology, this.session);
    for (const c of path) checkedStep(s, c);
    return s;
  }

  /** The representative commands enabled in `s` (whose path used `used`). */
  children(s: Session, used: Used): Command[] {
    return enabledCommands(s.spec, this.kinds).filter((c) => representative(this.sym, used, c));
  }

  /** One transition on `s`, which it mutates; the new state's fingerprint, or undefined on a violation. */
  step(s: Session, path: readonly Command[], c: Command, depth: number): string | undefined {
    this.transitions++;
    if ((this.transitions & (PROGRESS_EVERY - 1)) === 0) {
      this.opts.progress?.({ depth, states: this.seen.size, transitions: this.transitions });
      if (this.opts.deadline !== undefined && performance.now() > this.opts.deadline) this.timedOut = true;
    }
    if (checkedStep(s, c).length > 0) {
      this.found ??= { violation: s.violation!, commands: [...path, c] };
      return undefined;
    }
    return fingerprint(s);
  }

  /** Level by level. Returns the deepest depth whose sequences were all checked. */
  bfs(maxDepth: number): number {
    const rootFp = fingerprint(this.replay([]));
    const root: Node = { parent: undefined, cmd: undefined, used: NONE_USED, fp: rootFp };
    this.seen.set(rootFp, 0);
    let level: Node[] = [root];
    for (let depth = 0; depth < maxDepth; depth++) {
      const next: Node[] = [];
      for (const node of level) {
        const path = pathOf(node);
        let s = this.replay(path);
        const cmds = this.children(s, node.used);
        // A transition that leaves the state as it was (a failed command, a grace period with
        // nothing pending) leaves the session usable for the next command: no replay.
        let atNode = true;
        for (let i = 0; i < cmds.length; i++) {
          if (!atNode) s = this.replay(path);
          const c = cmds[i]!;
          const fp = this.step(s, path, c, depth);
          if (this.found !== undefined) return depth;
          if (this.timedOut) return depth;
          atNode = fp === node.fp;
          if (fp === undefined || this.seen.has(fp)) continue;
          this.seen.set(fp, depth + 1);
          next.push({ parent: node, cmd: c, used: afterCommand(node.used, c), fp });
        }
      }
      level = next;
      if (level.length === 0) return maxDepth;
    }
    return maxDepth;
  }

  /**
   * Depth first. A state is expanded again when reached by a shorter path than before (its
   * subtree then reaches deeper), so the bound is exact whatever the visiting order.
   */
  dfs(maxDepth: number): number {
    const rootFp = fingerprint(this.replay([]));
    this.seen.set(rootFp, 0);
    const visit = (s: Session, path: Command[], used: Used, nodeFp: string): void => {
      const depth = path.length;
      if (depth >= maxDepth) return;
      const cmds = this.children(s, used);
      let here = s;
      let atNode = true;
      for (let i = 0; i < cmds.length; i++) {
        if (!atNode) here = this.replay(path);
        const c = cmds[i]!;
        const fp = this.step(here, path, c, depth);
        if (this.found !== undefined || this.timedOut) return;
        atNode = fp === nodeFp;
        if (fp === undefined) continue;
        const known = this.seen.get(fp);
        if (known !== undefined && known <= depth + 1) continue;
        this.seen.set(fp, depth + 1);
        path.push(c);
        visit(here, path, afterCommand(used, c), fp);
        atNode = false;
        path.pop();
        if (this.found !== undefined || this.timedOut) return;
      }
    };
    visit(this.replay([]), [], NONE_USED, rootFp);
    return this.found === undefined && !this.timedOut ? maxDepth : 0;
  }
}

export const exploreTopology = (topology: Topology, opts: SearchOptions): SearchResult => {
  const order = opts.order ?? 'bfs';
  const e = new Explorer(topology, opts);
  let depthComplete = order === 'bfs' ? e.bfs(opts.depth) : e.dfs(opts.depth);
  let found = e.found;
  let timedOut = e.timedOut;
  if (order === 'dfs' && found !== undefined) {
    // Shortest counterexample: breadth-first below the depth depth-first found it at.
    const short = new Explorer(topology, opts);
    depthComplete = short.bfs(found.commands.length - 1);
    if (short.found !== undefined) found = short.found;
    timedOut = short.timedOut;
  }
  return {
    distinctStates: e.seen.size,
    transitions: e.transitions,
    depthComplete,
    timedOut,
    ...(found === undefined ? {} : { violation: found.violation, commands: found.commands }),
  };
};
