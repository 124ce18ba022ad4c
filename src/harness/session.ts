/**
 * A Session is one run's pair of worlds: a fresh spec state and a freshly booted world on the
 * topology, the hardware probe, and the record of what ran (the only per-step state a run
 * keeps; dropped with the session when the run ends).
 */
import type { StepProbe } from '../../properties/probe.js';
import type { IommuDriver, World } from '../impl/index.js';
import { createWorld } from '../impl/index.js';
import type { Co } from '../impl/core/sched.js';
import type { Command, FaultId, FindingName, Observation, Topology } from '../shared/index.js';
import { CoverageRecorder, initSpec } from '../spec/index.js';
import type { SpecState } from '../spec/index.js';
import { TraceEventLog } from '../trace/index.js';
import type { TraceGroup, TraceStep, TraceViolation } from '../trace/index.js';
import { driverFor } from './platforms.js';
import { attachStepProbe } from './probe.js';
import { tracingDriver } from './traceOps.js';
import type { StepWatch } from './watch.js';

export interface SessionOptions {
  /** Test-only: a driver other than the platform's (e.g. a deliberately broken one). */
  readonly driver?: IommuDriver;
  /** Shared by every session of a run, so the run reports "k of N transitions". */
  readonly coverage?: CoverageRecorder;
  /** Attach a trace sink and keep each step's events (replay, show). Off on the hot path. */
  readonly events?: boolean;
  /** One historical bug switched back on in the impl (src/shared/fault.ts); the world reads it. */
  readonly fault?: FaultId;
  /** The CLI's watchdog (watch.ts); undefined on the hot path of tests and benchmarks. */
  readonly watch?: StepWatch;
  /** Proposed fixes of known upstream findings switched on (src/shared/finding.ts). */
  readonly fixes?: readonly FindingName[];
  /**
   * Report known upstream findings as violations like any other (replaying a finding's own
   * trace). By default a violation the step can pin on a known finding is recorded in `known`
   * and the run goes on.
   */
  readonly strict?: boolean;
  /**
   * Test-only: what a concurrent group runs for each member instead of the kernel's task (a test
   * double for the impl half, to craft a race or a non-linearizable history).
   */
  readonly task?: MemberTask;
}

/** The impl half of one group member: a task body returning the member's observation. */
export type MemberTask = (world: World, cmd: Command) => Co<Observation>;

/** A known upstream finding met at a step, with the violations it explains. */
export interface KnownHit {
  readonly finding: FindingName;
  readonly step: number;
  readonly invariants: readonly string[];
}

export interface Session {
  readonly topology: Topology;
  readonly spec: SpecState;
  readonly world: World;
  readonly probe: StepProbe;
  /** The sink the impl and hw emit into; undefined on the hot path. */
  readonly log: TraceEventLog | undefined;
  /** Commands executed, in order, and what each observed (steps[i] belongs to commands[i]). */
  readonly commands: Command[];
  readonly steps: TraceStep[];
  /** The concurrent groups among `commands`, ascending (empty in a sequential run). */
  readonly groups: TraceGroup[];
  /** SessionOptions.task, kept for the groups. */
  readonly task: MemberTask | undefined;
  readonly watch: StepWatch | undefined;
  /** The first violation, if any: a run stops there. */
  violation: TraceViolation | undefined;
  /** Known upstream findings met, in step order (none in a strict session). */
  readonly known: KnownHit[];
  readonly strict: boolean;
  /**
   * A known finding's excused violation left spec and kernel apart (FindingExcuse.ends): the
   * run stops here without failing.
   */
  ended: boolean;
}

export const openSession = (topology: Topology, opts: SessionOptions = {}): Session => {
  const log = opts.events === true ? new TraceEventLog() : undefined;
  const driver = opts.driver ?? driverFor(topology.platform);
  // Recording a timeline: driver entry points become events (traceOps.ts); never on the hot path.
  const world = createWorld(topology, log === undefined ? driver : tracingDriver(driver, log), log, {
    ...(opts.fault === undefined ? {} : { fault: opts.fault }),
    ...(opts.fixes === undefined ? {} : { fixes: opts.fixes }),
  });
  // Booting (probe) may have emitted events; they belong to no step.
  log?.take();
  return {
    topology,
    spec: initSpec(topology, opts.coverage),
    world,
    probe: attachStepProbe(world),
    log,
    commands: [],
    steps: [],
    groups: [],
    task: opts.task,
    watch: opts.watch,
    violation: undefined,
    known: [],
    strict: opts.strict === true,
    ended: false,
  };
};
