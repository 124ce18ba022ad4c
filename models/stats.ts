/**
 * What a run measured about its own generation: how many generated commands were legal (the
 * rest were filtered by `check`), how long the executed sequences were, which kinds ran.
 * Bounded memory whatever the run length: counters and a fixed histogram.
 */
import { COMMAND_KINDS, zeroIopfCounts } from '../src/shared/index.js';
import type { GroupRun } from '../src/sched/types.js';
import type { CommandKind, FailSite, FindingName, IopfCounts } from '../src/shared/index.js';

/** Upper bounds (inclusive) of the sequence-length buckets; the last bucket is open. */
export const LENGTH_BUCKETS: readonly number[] = [0, 9, 49, 99, 199, 399, 799];

const zeroPerKind = (): Record<CommandKind, number> =>
  Object.fromEntries(COMMAND_KINDS.map((k) => [k, 0])) as Record<CommandKind, number>;

export class RunStats {
  runs = 0;
  /** Checked steps: commands executed with every invariant evaluated (shrinking included). */
  steps = 0;
  /** `check` calls and how many said no. */
  checks = 0;
  filtered = 0;
  /** Per kind: executed, and generated (checked). */
  readonly kinds: Record<CommandKind, number> = zeroPerKind();
  readonly generatedKinds: Record<CommandKind, number> = zeroPerKind();
  /** Executed commands per run, bucketed by LENGTH_BUCKETS (+1 open bucket). */
  readonly lengths = new Array<number>(LENGTH_BUCKETS.length + 1).fill(0);
  longest = 0;
  /** Runs (shrinking included) that met each known upstream finding, in first-met order. */
  readonly known = new Map<FindingName, number>();
  /** Fault-injection sites failed at least once (failNext or failNth), in first-failed order. */
  readonly failedSites = new Set<FailSite>();
  /** I/O page-fault protocol parts reached, summed over runs. */
  readonly iopf: IopfCounts = zeroIopfCounts();
  /** Concurrent groups (models/groups.ts): run, scheduling points, preemptions taken, deadlocks, LIN violations. */
  readonly sched = { groups: 0, points: 0, preemptions: 0, deadlocks: 0, lin: 0 };

  noteCheck(kind: CommandKind, legal: boolean): void {
    this.checks++;
    this.generatedKinds[kind]++;
    if (!legal) this.filtered++;
  }

  noteRun(kind: CommandKind): void {
    this.steps++;
    this.kinds[kind]++;
  }

  noteSequence(executed: number): void {
    this.runs++;
    let b = LENGTH_BUCKETS.findIndex((hi) => executed <= hi);
    if (b < 0) b = LENGTH_BUCKETS.length;
    this.lengths[b]! += 1;
    if (executed > this.longest) this.longest = executed;
  }

  /** A run's known-finding hits (Session.known): each finding counts once per run. */
  noteKnown(hits: readonly { readonly finding: FindingName }[]): void {
    if (hits.length === 0) return;
    for (const name of new Set(hits.map((h) => h.finding))) this.known.set(name, (this.known.get(name) ?? 0) + 1);
  }

  /** A run's world: the sites its kernel failed. */
  noteFailed(sites: ReadonlySet<FailSite>): void {
    for (const site of sites) this.failedSites.add(site);
  }

  /** A run's world-level IOPF counts (iopf_counts of its kernel). */
  noteIopf(c: Readonly<IopfCounts>): void {
    for (const k of Object.keys(this.iopf) as (keyof IopfCounts)[]) this.iopf[k] += c[k];
  }

  /** One generated group's run (undefined when the scheduler itself threw) and whether it was not linearizable. */
  noteGroup(run: GroupRun | undefined, lin: boolean): void {
    this.sched.groups++;
    if (lin) this.sched.lin++;
    if (run === undefined) return;
    this.sched.points += run.points;
    this.sched.preemptions += run.preemptions;
    if (run.deadlock !== undefined) this.sched.deadlocks++;
  }

  distinctKinds(): number {
    return COMMAND_KINDS.filter((k) => this.kinds[k] > 0).length;
  }

  /** Fraction of generated commands that were legal and ran. */
  executedFraction(): number {
    return this.checks === 0 ? 0 : (this.checks - this.filtered) / this.checks;
  }

  /** `0:3 1-9:10 10-49:40 ...`: the sequence-length distribution in one line. */
  formatLengths(): string {
    return this.lengths
      .map((n, i) => {
        const lo = i === 0 ? 0 : LENGTH_BUCKETS[i - 1]! + 1;
        const hi = LENGTH_BUCKETS[i];
        const label = hi === undefined ? `${lo}+` : lo === hi ? `${lo}` : `${lo}-${hi}`;
        return `${label}:${n}`;
      })
      .join(' ');
  }

  /** `bind 812/1000 ...`: executed of generated, per kind. */
  formatKinds(): string {
    return COMMAND_KINDS.map((k) => `${k} ${this.kinds[k]}/${this.generatedKinds[k]}`).join(', ');
  }

  summary(): string {
    return `runs ${this.runs}, steps ${this.steps}, executed ${(this.executedFraction() * 100).toFixed(1)}% of ${this.checks} generated` +
      `, lengths [${this.formatLengths()}] longest ${this.longest}, kinds ${this.distinctKinds()}/${COMMAND_KINDS.length}`;
  }
}
