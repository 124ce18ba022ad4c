/**
 * The scheduler API (issue 11): what a concurrent group of commands is, what a schedule is, and
 * what a policy decides. The harness (src/harness/group.ts) codes against exactly these shapes.
 *
 * A schedule is recorded as the decisions that differ from the default rule, so a sequential
 * run is the empty schedule and a counterexample's schedule lists only its context switches.
 */
import type { Co, TaskKind } from '../impl/core/sched.js';

export type SchedulerName = 'random' | 'pct' | 'exhaustive';

/** A scheduling decision that differs from the default rule. The default at a point: keep the
 *  current task if it is runnable, else the lowest-index runnable task (tasks are indexed in
 *  spawn order within the group: members first, then kernel tasks spawned while it runs). */
export interface Switch { readonly at: number; readonly to: number }

/** A schedule is the list of switches; replaying it reproduces the run exactly. */
export interface Schedule { readonly switches: readonly Switch[] }

export interface Policy {
  /** At scheduling point `at` (0, 1, 2, ... one per task step), with `current` (index, or -1 at the
   *  start and after the current task finished or blocked) and `runnable` (ascending indices, never
   *  empty), the index of the task to run next. `waited`: when the last task blocked waiting for
   *  a runnable task of the group (a flush, an IRQ thread, a work item), that task. */
  pick(at: number, current: number, runnable: readonly number[], waited?: number): number;
}

export interface GroupMember { readonly name: string; readonly kind: TaskKind; readonly body: Co<unknown> }

/** One scheduling point, as the trace timeline shows it: `task` ran from there to the yield
 *  `what` ('done' when it finished, 'hung' when its in-place wait hung for good); `switched`
 *  when `task` is not the task of the previous point (a context switch on the timeline). */
export interface GroupPoint { readonly at: number; readonly task: number; readonly what: string; readonly switched: boolean }

export interface GroupTask { readonly name: string; readonly kind: TaskKind; readonly firstAt: number; readonly doneAt: number }

export interface GroupRun {
  /** Each member's return value, in member order (undefined for a member that never finished). */
  readonly results: readonly unknown[];
  readonly tasks: readonly GroupTask[];
  readonly schedule: Schedule;
  readonly points: number;
  /** Context switches away from a runnable current task (CHESS's preemptions). */
  readonly preemptions: number;
  /** Set when every unfinished task was blocked: the lockdep-style report (also warn()ed). */
  readonly deadlock: string | undefined;
  /** Only when `record` was asked: every point, for the timeline. */
  readonly trace: readonly GroupPoint[] | undefined;
}

export interface GroupOptions {
  /** Keep every point in `trace` (for the timeline); off on the fast path. */
  readonly record?: boolean;
  /** Called after every point, e.g. to check the at-yield invariants. */
  /**
   * Each point as it happens, with the member the running task works for: itself, or for a
   * kernel task the member whose task spawned it (a work item its IRQ thread queued), else the
   * last member (a task spawned before the group).
   */
  readonly onPoint?: (p: GroupPoint, member: number) => void;
  /** Each switch the policy forces, as it decides it (before the task it picked runs: a watchdog sees it even if that task never yields). */
  readonly onSwitch?: (sw: Switch) => void;
  /** A group still running after this many points is reported as a livelock (default 100000). */
  readonly maxPoints?: number;
}

/** The result of the preemption-bounded explorer. */
export interface Exploration {
  /** Complete schedules executed. */
  readonly schedules: number;
  /** Every schedule within the bound was explored (no violation stopped it, no limit hit). */
  readonly complete: boolean;
  /** The first violating schedule, replayable with replayPolicy. */
  readonly found: Schedule | undefined;
}
