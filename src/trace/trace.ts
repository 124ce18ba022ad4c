import type { TaskKind } from '../impl/core/sched.js';
import type { Command, Observation, Topology, TraceEvent } from '../shared/index.js';
import { TRACE_FORMAT_VERSION, harnessVersion } from './version.js';

/**
 * A counterexample as a document (cf. Quint's ITF): everything needed to reproduce, explain and
 * render one run. Replay needs only `topology` and `commands`; the rest is the record of what
 * happened. `steps[i]` belongs to `commands[i]`; a trace may hold fewer steps than commands
 * (a hand-written regression, or a run stopped mid-sequence), never more.
 */
export interface Trace {
  readonly formatVersion: typeof TRACE_FORMAT_VERSION;
  /** package.json "version" of the harness that wrote it. */
  readonly harnessVersion: string;
  readonly topology: Topology;
  /** fast-check seed of the run. */
  readonly seed: number;
  /** fast-check counterexample path (`fc.assert` reports it), if the run came from fast-check. */
  readonly path?: string;
  /** fast-check `fc.commands` replayPath, if any. */
  readonly replayPath?: string;
  /** A named injected bug (the bug corpus), when the run used one. */
  readonly fault?: string;
  /** Proposed fixes of known upstream findings the run had on (src/shared/finding.ts). */
  readonly fixes?: readonly string[];
  readonly commands: readonly Command[];
  /**
   * Concurrent groups, ascending and disjoint: commands[at .. at + size) ran as tasks under one
   * scheduler. Absent when every command ran to completion in turn (the format before groups).
   */
  readonly groups?: readonly TraceGroup[];
  readonly steps: readonly TraceStep[];
  readonly violation?: TraceViolation;
}

/** A scheduling decision away from the default rule (src/sched/types.ts Switch). */
export interface TraceSwitch {
  /** The scheduling point (0, 1, ... one per task step within the group). */
  readonly at: number;
  /** The task index run there (members first, in command order, then kernel tasks by spawn). */
  readonly to: number;
}

/** One task of a group as it ran: its lane in the timeline. */
export interface TraceTask {
  readonly name: string;
  readonly kind: TaskKind;
  /** Its first and last scheduling point (-1 when it never ran / never finished). */
  readonly firstAt: number;
  readonly doneAt: number;
}

/** One scheduling point of a group: which task ran to which yield, and whether it was a switch. */
export interface TracePoint {
  readonly at: number;
  readonly task: number;
  readonly what: string;
  readonly switched: boolean;
}

/**
 * A concurrent group. Replay needs only `at`, `size` and `switches` (replayPolicy); scheduler,
 * seed and depth say how the schedule was found. `tasks` and `points` are the record of the run
 * for the timeline, written only when events were on.
 */
export interface TraceGroup {
  readonly at: number;
  readonly size: number;
  readonly scheduler: 'random' | 'pct' | 'exhaustive' | 'replay';
  readonly seed: number;
  /** PCT's d (number of priority change points). */
  readonly depth?: number;
  readonly switches: readonly TraceSwitch[];
  readonly tasks?: readonly TraceTask[];
  readonly points?: readonly TracePoint[];
}

/** One executed command: what the spec predicted, what the impl on the hardware did. */
export interface TraceStep {
  readonly expected: Observation;
  readonly actual: Observation;
  /**
   * What the impl and the hardware did, in order, when a trace sink was attached. In a group,
   * each event carries the task that emitted it and the scheduling point (GroupEvent).
   */
  readonly events?: readonly (TraceEvent | GroupEvent)[];
}

/** An event emitted inside a concurrent group: task index (TraceGroup.tasks) and point. */
export interface GroupEvent extends TraceEvent {
  readonly task: number;
  readonly at: number;
}

/** The first invariant that failed. */
export interface TraceViolation {
  /** The invariant's id, e.g. `SVA003`. */
  readonly invariant: string;
  /** Its one-line title, e.g. `no stale translation after unbind`. */
  readonly title: string;
  /** Index into `commands` of the step at which it failed. */
  readonly step: number;
  /** The objects involved, by harness id: `{ dev: 1, mm: 0, pasid: 3 }`. */
  readonly objects: Readonly<Record<string, number>>;
  readonly message: string;
}

/** A trace stamped with this harness's format and version. */
export const newTrace = (body: Omit<Trace, 'formatVersion' | 'harnessVersion'>): Trace => ({
  formatVersion: TRACE_FORMAT_VERSION,
  harnessVersion: harnessVersion(),
  ...body,
});
