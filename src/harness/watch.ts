/**
 * What a watchdog outside the search sees of it: a hook the checked step calls as it enters
 * and leaves each command (session.watch). The CLI's supervisor (supervise.ts) implements it
 * over shared memory, so a step that never returns still leaves its run's commands readable
 * by the thread that stops it. Off (undefined) on the test and benchmark paths.
 */
import type { Switch } from '../sched/types.js';
import type { Command } from '../shared/index.js';
import type { TraceGroup } from '../trace/index.js';
import type { Session } from './session.js';

export interface StepWatch {
  /** A fast-check property starts on this seed: the seed a trace of its runs records. */
  chunk(seed: number): void;
  /** The checked step is about to run `cmd`, the last of `s.commands`. */
  enter(s: Session, cmd: Command): void;
  /**
   * The step entered is a concurrent group (its members the last commands of `s.commands`),
   * run under `sched`; the switches its scheduler forces follow, as it forces them.
   */
  group(sched: Pick<TraceGroup, 'at' | 'size' | 'scheduler' | 'seed' | 'depth'>): void;
  groupSwitch(sw: Switch): void;
  /** The step returned (with or without a violation). */
  leave(): void;
}
