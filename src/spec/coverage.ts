/**
 * Transition coverage: which declared transitions of the lifecycle machines a run exercised.
 * Recording is one array increment per transition taken; reports say "k of N".
 */
import { ALL_TRANSITIONS } from './machines/index.js';
import type { TransitionInfo, TransitionSink } from './machines/index.js';

export class CoverageRecorder implements TransitionSink {
  readonly transitions: readonly TransitionInfo[] = ALL_TRANSITIONS;
  /** hits[id] = times transition id was taken. */
  readonly hits = new Uint32Array(ALL_TRANSITIONS.length);

  record(id: number): void {
    this.hits[id]! += 1;
  }

  /** Adds another recorder's counts (e.g. from another run or worker). */
  merge(other: CoverageRecorder): void {
    for (let i = 0; i < this.hits.length; i++) this.hits[i]! += other.hits[i]!;
  }

  covered(machine?: string): TransitionInfo[] {
    return this.transitions.filter((t) => this.hits[t.id]! > 0 && (machine === undefined || t.machine === machine));
  }

  uncovered(machine?: string): TransitionInfo[] {
    return this.transitions.filter((t) => this.hits[t.id]! === 0 && (machine === undefined || t.machine === machine));
  }

  /** {covered, total} overall or for one machine. */
  count(machine?: string): { covered: number; total: number } {
    const all = this.transitions.filter((t) => machine === undefined || t.machine === machine);
    return { covered: all.filter((t) => this.hits[t.id]! > 0).length, total: all.length };
  }

  /** One line per machine, "mm: 7 of 9 transitions", then the uncovered ones. */
  report(): string {
    const machines = [...new Set(this.transitions.map((t) => t.machine))];
    const lines = machines.map((m) => {
      const { covered, total } = this.count(m);
      return `${m}: ${covered} of ${total} transitions`;
    });
    const { covered, total } = this.count();
    lines.push(`all: ${covered} of ${total} transitions`);
    for (const t of this.uncovered()) lines.push(`  not covered: ${formatTransition(t)}`);
    return lines.join('\n');
  }
}

export const formatTransition = (t: TransitionInfo): string =>
  `${t.machine}: ${t.source} --${t.event}${t.guard === undefined ? '' : ` [${t.guard}]`}--> ${t.target}`;
