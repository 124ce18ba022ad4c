/**
 * The fault benchmark's numbers and tables (scripts/bench-faults.ts): per fault and platform,
 * the seeds' findings summarised (found k/n, invariants, median and max runs and time to the
 * first failure, median shrunk length and shrink time), as a text table for the terminal and
 * a Markdown page for bench/faults.md. Pure: the bench measures, this only counts and prints.
 */
import type { FaultFinding } from '../models/index.js';
import { formatTable } from '../src/cli/summary.js';
import type { FaultId, Platform } from '../src/shared/index.js';

/**
 * One seed's search, as bench/faults.json keeps it: findFault's finding without what the row
 * already says (fault, platform), times rounded, and the shrunk counterexample printed one
 * command per entry (`bind(d0,mm1)`) in place of its trace.
 */
export type SeedResult = Omit<FaultFinding, 'fault' | 'platform' | 'trace'> & {
  readonly counterexample?: readonly string[];
};

/** One fault on one platform (fault undefined: the clean run). */
export interface FaultRow {
  readonly fault?: FaultId;
  readonly title: string;
  readonly platform: Platform;
  readonly seeds: readonly SeedResult[];
}

export interface RowSummary {
  readonly found: number;
  readonly total: number;
  /** `x` found, `.` not, per seed in order. */
  readonly perSeed: string;
  /** Distinct invariants of the shrunk counterexamples with counts, most frequent first. */
  readonly invariants: readonly { readonly id: string; readonly count: number }[];
  /** Every fired invariant is an expected one (true when none fired). */
  readonly allExpected: boolean;
  readonly medianRuns?: number;
  readonly maxRuns?: number;
  readonly medianMs?: number;
  readonly maxMs?: number;
  readonly medianShrunkLength?: number;
  readonly maxShrunkLength?: number;
  readonly medianShrinkMs?: number;
  readonly errors: number;
}

/** The middle value; the mean of the two middle ones for an even count; undefined when empty. */
export const median = (xs: readonly number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

export const max = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : Math.max(...xs));

const defined = (xs: readonly (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);

const opt = <K extends string>(key: K, v: number | undefined): { [P in K]?: number } =>
  (v === undefined ? {} : { [key]: v }) as { [P in K]?: number };

export const summarizeRow = (row: FaultRow): RowSummary => {
  const hits = row.seeds.filter((s) => s.found);
  const counts = new Map<string, number>();
  for (const s of hits) if (s.invariant !== undefined) counts.set(s.invariant, (counts.get(s.invariant) ?? 0) + 1);
  const invariants = [...counts].map(([id, count]) => ({ id, count })).sort((a, b) => b.count - a.count || a.id.localeCompare(b.id));
  const runs = defined(hits.map((s) => s.runsToFailure));
  const ms = defined(hits.map((s) => s.msToFailure));
  return {
    found: hits.length,
    total: row.seeds.length,
    perSeed: row.seeds.map((s) => (s.found ? 'x' : '.')).join(''),
    invariants,
    allExpected: hits.every((s) => s.expected),
    ...opt('medianRuns', median(runs)),
    ...opt('maxRuns', max(runs)),
    ...opt('medianMs', median(ms)),
    ...opt('maxMs', max(ms)),
    ...opt('medianShrunkLength', median(defined(hits.map((s) => s.shrunkLength)))),
    ...opt('maxShrunkLength', max(defined(hits.map((s) => s.shrunkLength)))),
    ...opt('medianShrinkMs', median(defined(hits.map((s) => s.shrinkMs)))),
    errors: row.seeds.filter((s) => s.error !== undefined).length,
  };
};

/** A count, whole or with one decimal (a median of two); `-` when there is none. */
export const formatCount = (n: number | undefined): string => (n === undefined ? '-' : Number.isInteger(n) ? String(n) : n.toFixed(1));

/** Milliseconds as seconds: `0.042 s`, `1.25 s`, `12.3 s`; `-` when there is none. */
export const formatSeconds = (ms: number | undefined): string => {
  if (ms === undefined) return '-';
  const s = ms / 1000;
  return `${s < 1 ? s.toFixed(3) : s < 10 ? s.toFixed(2) : s.toFixed(1)} s`;
};

export const rowName = (row: FaultRow): string => row.fault ?? 'clean';

/** `I6×7 OBS×3`; a fault row whose invariants are not all expected ones says so. */
const invariantsCell = (row: FaultRow, r: RowSummary): string =>
  r.invariants.length === 0
    ? '-'
    : `${r.invariants.map((i) => `${i.id}×${i.count}`).join(' ')}${row.fault !== undefined && !r.allExpected ? ' (unexpected)' : ''}`;

const HEADER = ['fault', 'platform', 'found', 'per seed', 'invariants', 'runs med/max', 'time to 1st failure med/max', 'shrunk len med/max', 'shrink time med'];

const cells = (row: FaultRow): string[] => {
  const r = summarizeRow(row);
  return [
    rowName(row), row.platform, `${r.found}/${r.total}${r.errors > 0 ? ` (${r.errors} errors)` : ''}`, r.perSeed, invariantsCell(row, r),
    `${formatCount(r.medianRuns)} / ${formatCount(r.maxRuns)}`,
    `${formatSeconds(r.medianMs)} / ${formatSeconds(r.maxMs)}`,
    `${formatCount(r.medianShrunkLength)} / ${formatCount(r.maxShrunkLength)}`, formatSeconds(r.medianShrinkMs),
  ];
};

/** The terminal table. */
export const formatFaultTable = (rows: readonly FaultRow[]): string[] => formatTable(HEADER, rows.map(cells));

/** A clean run that found something is the one result that makes the whole bench wrong. */
export const cleanViolations = (rows: readonly FaultRow[]): number =>
  rows.filter((r) => r.fault === undefined).reduce((n, r) => n + summarizeRow(r).found, 0);

export interface BenchContext {
  readonly date: string;
  readonly machine: { readonly node: string; readonly cpu: string; readonly cores: number; readonly os: string };
  readonly budget: { readonly runs: number; readonly seconds: number };
  readonly topology: string;
  readonly seeds: readonly number[];
  /** The generator's concurrent groups (run --groups / --sched); absent in reports from before them. */
  readonly groups?: { readonly rate: number; readonly scheduler: string };
}

const mdEscape = (s: string): string => s.replace(/\|/g, '\\|');

/** What the runs drew of concurrent groups: `run`'s --groups and --sched. */
export const groupsLine = (g: NonNullable<BenchContext['groups']>): string =>
  g.rate > 0
    ? `Concurrent groups: ${g.rate} of the generated steps are groups of 2-3 commands, scheduler \`${g.scheduler}\` (\`run --groups ${g.rate} --sched ${g.scheduler}\`).`
    : 'Concurrent groups: none (`--groups 0`, the sequential runs): a race fault (R ids) can fire only in a sequential run.';

/** bench/faults.md: what was run where, then one row per fault and platform. */
export const renderFaultsMarkdown = (ctx: BenchContext, rows: readonly FaultRow[]): string => {
  const clean = cleanViolations(rows);
  const lines = [
    '# Fault benchmark',
    '',
    `Generated by \`npm run bench:faults\` on ${ctx.date}: Node ${ctx.machine.node}, ${ctx.machine.cpu} (${ctx.machine.cores} cores, ${ctx.machine.os}), one core used.`,
    '',
    `Each fault runs on each platform it applies to, on the \`${ctx.topology}\` topology family, over ${ctx.seeds.length} seeds ` +
      `(${ctx.seeds.join(', ')}), each until the first failure or ${ctx.budget.runs} runs or ${ctx.budget.seconds} s. ` +
      'Runs and time (after an untimed warm-up) are to the end of the first failing run; shrink time is from there to the shrunk trace. ' +
      'Medians and maxima are over the seeds that found it. `per seed`: `x` found, `.` not.',
    '',
    ...(ctx.groups === undefined ? [] : [groupsLine(ctx.groups), '']),
    `Clean run (no fault): ${clean === 0 ? '0 violations' : `**${clean} violations**`}.`,
    '',
    `| ${HEADER.join(' | ')} | title |`,
    `|${HEADER.map(() => '---').join('|')}|---|`,
    ...rows.map((row) => `| ${cells(row).map(mdEscape).join(' | ')} | ${mdEscape(row.title)} |`),
    '',
  ];
  return lines.join('\n');
};
