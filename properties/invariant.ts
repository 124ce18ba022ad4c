/**
 * The contract every invariant follows. An invariant is one file exporting one `Invariant`;
 * `registry.ts` lists them. `check` reads the step's context and returns the violations it
 * finds (empty when the rule holds). It must not change anything it reads.
 */
import type { Anomaly } from '../src/hw/mem.js';
import type { World } from '../src/impl/index.js';
import type { Command, Observation } from '../src/shared/index.js';
import type { SpecState } from '../src/spec/index.js';
import type { StepProbe } from './probe.js';

/** One broken rule at one step, naming the objects involved (`{ dev: 1, mm: 0, pasid: 3 }`). */
export interface Violation {
  readonly invariant: string;
  readonly objects: Readonly<Record<string, number>>;
  readonly message: string;
}

/** Everything an invariant may read after one command has run on both sides. */
export interface CheckContext {
  /** Index of the command in its sequence. */
  readonly step: number;
  readonly cmd: Command;
  /** The spec's prediction and the impl's result for `cmd`. */
  readonly expected: Observation;
  readonly actual: Observation;
  /** The spec state after `cmd` (read only). */
  readonly spec: SpecState;
  /** The kernel objects and emulated hardware after `cmd` (read only). */
  readonly world: World;
  /** Hardware anomalies logged during `cmd` (stale walks, DMA to freed frames). */
  readonly anomalies: readonly Anomaly[];
  /** What the hardware saw during `cmd`: descriptors/commands, syncs, in order. */
  readonly probe: StepProbe;
}

export interface Invariant {
  /** Stable id, `I1`…, used in traces and tests. */
  readonly id: string;
  readonly title: string;
  /** The kernel rule it mirrors, in one sentence. */
  readonly kernelRule: string;
  /** Where the rule lives in the kernel (file: function), or the thread/commit that states it. */
  readonly source: string;
  check(ctx: CheckContext): readonly Violation[];
}
