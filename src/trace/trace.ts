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
  readonly steps: readonly TraceStep[];
  readonly violation?: TraceViolation;
}

/** One executed command: what the spec predicted, what the impl on the hardware did. */
export interface TraceStep {
  readonly expected: Observation;
  readonly actual: Observation;
  /** What the impl and the hardware did, in order, when a trace sink was attached. */
  readonly events?: readonly TraceEvent[];
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
