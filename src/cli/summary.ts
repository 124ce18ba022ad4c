import { COMMAND_KINDS, FAULTS, FINDINGS, IOPF_COUNT_NAMES, type IopfCounts, failSitesOf, iopfCountApplies } from '../shared/index.js';
import { groupDigits, stepsPerSecond } from './progress.js';
import type { PlatformRunSummary, RunSummary } from '../harness/index.js';

/**
 * What a run with concurrent groups adds to a platform's summary (models/runner.ts writes it).
 * Local until src/harness/runner.ts PlatformRunSummary gains the field; then this goes.
 */
export interface ScheduleCounts {
  readonly groups: number;
  /** Scheduling points the groups' tasks took (each checked by the at-yield invariants). */
  readonly points: number;
  readonly preemptions: number;
  readonly deadlocks: number;
  readonly lin: number;
}
type ScheduledSummary = PlatformRunSummary & { readonly schedule?: ScheduleCounts };
export const scheduleOf = (p: PlatformRunSummary): ScheduleCounts | undefined => (p as ScheduledSummary).schedule;

/** A plain text table; columns right-aligned except the first. */
export const formatTable = (header: readonly string[], rows: readonly (readonly string[])[]): string[] => {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((s, c) => (c === 0 ? s.padEnd(widths[c]!) : s.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
};

/** The end-of-run table: runs, steps, distinct commands, transitions covered, violations; the fault on. */
export const formatRunSummary = (s: RunSummary): string[] => {
  const header = ['platform', 'runs', 'steps', 'steps/s', 'distinct commands', 'transitions covered', 'sites failed', 'violations'];
  const rows = s.platforms.map((p) => [
    p.platform,
    groupDigits(p.runs),
    groupDigits(p.steps),
    groupDigits(stepsPerSecond(p.steps, p.elapsedMs)),
    `${p.distinctCommands}/${COMMAND_KINDS.length}`,
    // 0 of 0: a search stopped before its first run reported anything.
    p.transitionsTotal === 0 ? '-' : `${p.transitionsCovered}/${p.transitionsTotal}`,
    `${p.sitesFailed.length}/${p.sitesTotal}`,
    String(p.violations),
  ]);
  if (s.platforms.length > 1) {
    const sum = (f: (p: RunSummary['platforms'][number]) => number): number => s.platforms.reduce((a, p) => a + f(p), 0);
    rows.push(['total', groupDigits(sum((p) => p.runs)), groupDigits(sum((p) => p.steps)),
      groupDigits(stepsPerSecond(sum((p) => p.steps), sum((p) => p.elapsedMs))), '', '', '', String(sum((p) => p.violations))]);
  }
  const fault = s.fault === undefined ? undefined : FAULTS.find((f) => f.id === s.fault);
  const fixes = s.fixes === undefined ? '' : `, fixes ${s.fixes.join(', ')}`;
  const head = `${fault === undefined ? `seed ${s.seed}` : `seed ${s.seed}, fault ${fault.id}: ${fault.title}`}${fixes}`;
  return [head, ...formatTable(header, rows), ...formatSchedule(s), ...formatIopf(s), ...formatUnfailed(s), ...formatKnown(s)];
};

/** One line per platform that ran concurrent groups: each group is one schedule of its members. */
const formatSchedule = (s: RunSummary): string[] =>
  s.platforms.flatMap((p) => {
    const c = scheduleOf(p);
    return c === undefined ? [] : [`schedule ${p.platform}: groups ${groupDigits(c.groups)}, schedules ${groupDigits(c.groups)}, points ${groupDigits(c.points)}, ` +
      `preemptions ${groupDigits(c.preemptions)}, deadlocks ${groupDigits(c.deadlocks)}, LIN violations ${groupDigits(c.lin)}`];
  });

/**
 * One line per platform: the I/O page-fault protocol parts its runs reached; a part the
 * platform does not have is n/a (shared/pri.ts IOPF_COUNT_APPLIES says why), not a 0.
 */
const formatIopf = (s: RunSummary): string[] =>
  s.platforms.map((p) => `iopf ${p.platform}: ${(Object.keys(IOPF_COUNT_NAMES) as (keyof IopfCounts)[])
    .map((k) => `${IOPF_COUNT_NAMES[k]} ${iopfCountApplies(p.platform, k) ? groupDigits(p.iopf[k]) : 'n/a'}`).join(', ')}`);

/** The fault-injection sites a platform's run never failed, when there are any. */
const formatUnfailed = (s: RunSummary): string[] =>
  s.platforms.flatMap((p) => {
    const never = failSitesOf(p.platform).filter((site) => !p.sitesFailed.includes(site));
    return never.length === 0 ? [] : [`sites never failed (${p.platform}): ${never.join(', ')}`];
  });

/**
 * Known upstream findings met (docs/upstream-findings.md): one line each, per platform. They
 * are not violations: the exit code ignores them; `--fix NAME` runs with the proposed fix.
 */
const formatKnown = (s: RunSummary): string[] => {
  const lines = s.platforms.flatMap((p) => p.known.map((k) => {
    const info = FINDINGS.find((f) => f.name === k.finding);
    return `known finding ${k.finding} (${p.platform}, ${groupDigits(k.runs)} runs): ${info?.title ?? ''}`;
  }));
  return lines.length === 0 ? [] : [...lines, 'known findings are not violations (docs/upstream-findings.md; --fix NAME switches on the proposed fix)'];
};
