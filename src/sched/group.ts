/**
 * The group runner: 2–3 commands (and the kernel tasks they spawn) interleaved on one world.
 *
 * A scheduling point comes before every task step (a step runs a task from one yield point to
 * the next, sched.ts: stepTask). The policy picks among the runnable tasks; the schedule records
 * only the picks that differ from the default rule (types.ts: Switch), so the default policy's
 * empty schedule is the sequential order and a counterexample lists just its context switches.
 * A pick away from a runnable current task is a preemption (CHESS); a pick after the current
 * task blocked or finished is free.
 *
 * Kernel tasks spawned while the group runs (queue_work, an IRQ thread woken by a page request)
 * join it at the next index; a task spawned before the group joins it when a group task waits
 * for it (a flush of work queued earlier), and is otherwise left for later. When no task can
 * run and some are not done, the group deadlocked: the report names what each task waits in and
 * holds, like lockdep's "INFO: task blocked for more than 120 seconds" with its held-locks list;
 * it is warn()ed (the I-SPLAT invariant) and the tasks are parked for good.
 */
import { warn } from '../impl/core/kernel.js';
import { type Task, TaskHung, type Yield, schedOf, spawn, stepTask } from '../impl/core/sched.js';
import type { Kernel } from '../impl/core/types.js';
import { owned, parkTask } from './park.js';
import { defaultPick } from './policies.js';
import type { GroupMember, GroupOptions, GroupPoint, GroupRun, GroupTask, Policy, Switch } from './types.js';

/** Run `members` concurrently under `policy` until every task of the group is done or stuck. */
export function runGroup(kernel: Kernel, members: readonly GroupMember[], policy: Policy, opts: GroupOptions = {}): GroupRun {
  const s = schedOf(kernel);
  const maxPoints = opts.maxPoints ?? 100000;
  const onPoint = opts.onPoint;
  const trace: GroupPoint[] | undefined = opts.record === true ? [] : undefined;
  const tasks: Task[] = [];
  const firstAt: number[] = [];
  const doneAt: number[] = [];
  const switches: Switch[] = [];
  const runnable: number[] = [];
  let seen = s.nextId;
  const join = (t: Task): void => {
    tasks.push(t);
    firstAt.push(-1);
    doneAt.push(-1);
  };
  for (const m of members) join(spawn(kernel, m.name, m.kind, m.body));
  seen = s.nextId;
  let current = -1;
  let last = -1;
  let preemptions = 0;
  let at = 0;
  let deadlock: string | undefined;
  const was = s.concurrent;
  s.concurrent = true;
  try {
    for (;;) {
      if (s.nextId !== seen) adopt(s.tasks, seen, join);
      seen = s.nextId;
      // A task spawned before the group (a work item queued earlier) joins it once a group task
      // waits for it: a flush of earlier work is not a deadlock.
      for (let i = 0; i < tasks.length; i++) {
        const dep = tasks[i]!.blocked?.waitsFor?.();
        if (dep !== undefined && !dep.done && !dep.parked && !tasks.includes(dep)) join(dep);
      }
      runnable.length = 0;
      let pending = 0;
      for (let i = 0; i < tasks.length; i++) {
        const t = tasks[i]!;
        if (t.done || t.parked) continue; // parked: hung for good, already reported
        pending++;
        if (t.runnable()) runnable.push(i);
      }
      if (pending === 0) break;
      if (runnable.length === 0 || at >= maxPoints) {
        deadlock = report(tasks, runnable.length === 0 ? 'deadlock' : `livelock: still running after ${maxPoints} scheduling points`);
        warn(kernel, deadlock);
        for (const t of tasks) if (!t.done) parkTask(t);
        break;
      }
      const dep = current < 0 && last >= 0 ? tasks[last]!.blocked?.waitsFor?.() : undefined;
      const waited = dep === undefined ? undefined : tasks.indexOf(dep);
      const pick = policy.pick(at, current, runnable, waited !== undefined && waited >= 0 ? waited : undefined);
      if (!runnable.includes(pick)) throw new Error(`scheduler picked task ${pick}, not runnable at point ${at} (runnable: ${runnable.join(',')})`);
      if (pick !== defaultPick(current, runnable, waited !== undefined && waited >= 0 ? waited : undefined)) {
        const sw = { at, to: pick };
        switches.push(sw);
        opts.onSwitch?.(sw);
      }
      if (current >= 0 && pick !== current) preemptions++;
      if (firstAt[pick]! < 0) firstAt[pick] = at;
      const t = tasks[pick]!;
      let y: Yield | undefined | null;
      try {
        y = stepTask(kernel, t);
      } catch (e) {
        // A wait run in place (under a sync bridge) found its deadlock and reported it: the
        // task sleeps there for good, as sched.ts parks a hung dependency.
        if (!(e instanceof TaskHung)) throw e;
        parkTask(t);
        y = null;
      }
      if (y === undefined) doneAt[pick] = at;
      current = y === undefined || y === null || y.kind === 'block' ? -1 : pick;
      if (trace !== undefined || onPoint !== undefined) {
        const p: GroupPoint = { at, task: pick, what: y === undefined ? 'done' : y === null ? 'hung' : y.what, switched: last >= 0 && pick !== last };
        trace?.push(p);
        onPoint?.(p, memberOf(tasks, members.length, pick));
      }
      last = pick;
      at++;
    }
  } finally {
    s.concurrent = was;
  }
  const results: unknown[] = [];
  for (let i = 0; i < members.length; i++) results.push(tasks[i]!.done ? tasks[i]!.result : undefined);
  const info: GroupTask[] = tasks.map((t, i) => ({ name: t.name, kind: t.kind, firstAt: firstAt[i]!, doneAt: doneAt[i]! }));
  return { results, tasks: info, schedule: { switches }, points: at, preemptions, deadlock, trace };
}

/** The member task `i` works for: a member itself, or the member up its spawner chain, else the last member. */
function memberOf(tasks: readonly Task[], n: number, i: number): number {
  if (i < n) return i;
  for (let t = tasks[i]!.spawner; t !== undefined; t = t.spawner) {
    const k = tasks.indexOf(t);
    if (k >= 0 && k < n) return k;
  }
  return n - 1;
}

/** Tasks spawned since id `from` that are still alive join the group in spawn order. */
function adopt(all: readonly Task[], from: number, join: (t: Task) => void): void {
  let i = all.length;
  while (i > 0 && all[i - 1]!.id >= from) i--;
  for (; i < all.length; i++) join(all[i]!);
}

/** What each unfinished task waits in and holds: the deadlock (or livelock) report. */
function report(tasks: readonly Task[], what: string): string {
  const lines = [`possible ${what}: no task of the group can go on`];
  for (const t of tasks) {
    if (t.done || t.parked) continue;
    const mine = owned(t);
    const held = mine.length === 0 ? 'no locks held' : `holding ${mine.map((l) => l.name).join(', ')}`;
    lines.push(`  ${t.name} (${t.kind}) ${t.blocked !== undefined ? `waits in ${t.blocked.what}` : 'runnable'}, ${held}`);
  }
  return lines.join('\n');
}
