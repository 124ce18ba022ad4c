/**
 * `run --json`: the run as one JSON document for CI. Everything a merge of shards needs: the
 * seed, budget, slice, topology mode and fault, per platform the counts and coverage, and for
 * each counterexample its path, invariant and dedup key (src/trace/dedupKey.ts).
 */
import { COMMAND_KINDS } from '../shared/index.js';
import type { RunOptions, RunSummary } from '../harness/index.js';
import { counterexampleKey, harnessVersion, loadTrace } from '../trace/index.js';
import type { Trace } from '../trace/index.js';

export const RUN_REPORT_VERSION = 1;

export interface ReportedTrace {
  readonly path: string;
  readonly platform: string | null;
  readonly invariant: string | null;
  readonly step: number | null;
  /** counterexampleKey of the trace, or null if it could not be read back. */
  readonly key: string | null;
}

export interface RunReport {
  readonly reportVersion: typeof RUN_REPORT_VERSION;
  readonly harnessVersion: string;
  readonly seed: number;
  readonly slice: { readonly index: number; readonly count: number } | null;
  readonly budget: RunOptions['budget'];
  readonly topology: RunOptions['topology'];
  readonly fault: string | null;
  /** Proposed fixes of known upstream findings switched on (--fix). */
  readonly fixes: readonly string[];
  /** null when the run ended by itself; else what stopped it. */
  readonly stopped: string | null;
  readonly exitCode: number;
  readonly platforms: readonly {
    readonly platform: string;
    readonly runs: number;
    readonly steps: number;
    readonly distinctCommands: number;
    readonly commandKinds: number;
    readonly transitionsCovered: number;
    readonly transitionsTotal: number;
    readonly violations: number;
    readonly elapsedMs: number;
    readonly stopped: string | null;
    /** Known upstream findings met: not violations, but CI should see them. */
    readonly known: readonly { readonly finding: string; readonly runs: number }[];
  }[];
  readonly traces: readonly ReportedTrace[];
  /** Counterexamples that could be written nowhere, whole. */
  readonly unwritten: readonly Trace[];
  readonly notes: readonly string[];
}

export const describeTrace = (path: string): ReportedTrace => {
  const t = loadTrace(path);
  if (!t.ok) return { path, platform: null, invariant: null, step: null, key: null };
  return {
    path,
    platform: t.value.topology.platform,
    invariant: t.value.violation?.invariant ?? null,
    step: t.value.violation?.step ?? null,
    key: counterexampleKey(t.value),
  };
};

export const runReport = (opts: RunOptions, s: RunSummary, notes: readonly string[], exitCode: number): RunReport => ({
  reportVersion: RUN_REPORT_VERSION,
  harnessVersion: harnessVersion(),
  seed: s.seed,
  slice: opts.slice ?? null,
  budget: opts.budget,
  topology: opts.topology,
  fault: s.fault ?? null,
  fixes: s.fixes ?? [],
  stopped: s.stopped ?? null,
  exitCode,
  platforms: s.platforms.map((p) => ({
    platform: p.platform, runs: p.runs, steps: p.steps,
    distinctCommands: p.distinctCommands, commandKinds: COMMAND_KINDS.length,
    transitionsCovered: p.transitionsCovered, transitionsTotal: p.transitionsTotal,
    violations: p.violations, elapsedMs: Math.round(p.elapsedMs), stopped: p.stopped ?? null,
    known: p.known,
  })),
  traces: s.traces.map(describeTrace),
  unwritten: s.unwritten ?? [],
  notes,
});
