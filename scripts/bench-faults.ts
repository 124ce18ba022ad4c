/**
 * Fault benchmark (npm run bench:faults): for every fault of the corpus, on each platform it
 * applies to, the default model property with that fault on, over a fixed list of seeds, each
 * until the first failure or the budget; plus a clean run (no fault, same budget) that must
 * find nothing. Sequential, one core, no workers. Writes bench/faults.json (raw, per seed) and
 * bench/faults.md (the table, with the date and the machine), both atomically.
 *
 * Concurrent groups are `run`'s: its default rate (models/groups.ts DEFAULT_GROUP_RATE) unless
 * --groups F [--sched S] say otherwise, so the race faults (every registry id R..) are measured
 * as the default `run` would find them; sequentially:
 *   npm run bench:faults -- --groups 0 --name faults-sequential
 *
 * Usage: npm run bench:faults [-- --runs N] [--seconds S] [--seeds N] [--topology random|default]
 *          [--only B07,B10,races,clean] [--groups F] [--sched random|pct|mix] [--name STEM]
 *          [--date YYYY-MM-DD] [--out DIR] [--dry-run]
 */
import { cpus, platform as osPlatform, arch } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEED, faultPlatforms, findFault } from '../models/index.js';
import { DEFAULT_GROUP_RATE, GROUP_SCHEDULERS, type GroupOptions } from '../models/groups.js';
import { parseArgs } from '../src/cli/args.js';
import { parseChoice, parseCount } from '../src/cli/values.js';
import { FAULTS, PLATFORMS, faultIdRanges, isFaultId } from '../src/shared/index.js';
import type { FaultId, Platform } from '../src/shared/index.js';
import { formatCommand, harnessVersion, writeFileAtomic } from '../src/trace/index.js';
import {
  type BenchContext, type FaultRow, type SeedResult, cleanViolations, formatFaultTable, formatSeconds, renderFaultsMarkdown, rowName, summarizeRow,
} from './faultsReport.js';

/** Spaced so that no two seeds' chunk seeds (base + k, 25 runs each) overlap below 2.5 M runs. */
const seedList = (n: number): number[] => Array.from({ length: n }, (_, i) => DEFAULT_SEED + 100_000 * i);

const OPTIONS = [
  { name: 'runs', value: 'N', help: 'run budget per seed (default 1000)' },
  { name: 'seconds', value: 'S', help: 'wall-time cap per seed, a safety net: the run budget is the measure (default 30)' },
  { name: 'seeds', value: 'N', help: 'how many of the fixed seeds (default 10)' },
  { name: 'topology', value: 'random|default', help: 'topology family (default random: the model suites\')' },
  { name: 'only', value: 'LIST', help: 'comma-separated fault ids, "races" (every R id of the registry) and/or "clean"' },
  { name: 'groups', value: 'F', help: `share of generated steps that are concurrent groups, as run --groups (default: run's, ${DEFAULT_GROUP_RATE})` },
  { name: 'sched', value: 'random|pct|mix', help: 'scheduler of each group, as run --sched (default: mix)' },
  { name: 'name', value: 'STEM', help: 'output file names STEM.json and STEM.md (default faults)' },
  { name: 'date', value: 'DATE', help: 'date printed in the report (default: today)' },
  { name: 'out', value: 'DIR', help: 'output folder (default bench)' },
  { name: 'dry-run', help: 'print only; write no files' },
];

const fail = (message: string): never => {
  process.stderr.write(`bench:faults: ${message}\n`);
  process.exit(2);
};

const args = parseArgs(process.argv.slice(2), OPTIONS, []);
if (!args.ok) fail(args.error);
const opt = (name: string): string | undefined => {
  const v = args.ok ? args.value.options.get(name) : undefined;
  return typeof v === 'string' ? v : undefined;
};
const countOpt = (name: string, fallback: number, maxN?: number): number => {
  const raw = opt(name);
  if (raw === undefined) return fallback;
  const n = parseCount(name, raw, 1, maxN);
  return n.ok ? n.value : fail(n.error);
};

const runs = countOpt('runs', 1000);
const seconds = countOpt('seconds', 30);
const seeds = seedList(countOpt('seeds', 10, 100));
const topologyChoice = parseChoice('topology', opt('topology') ?? 'random', ['random', 'default'] as const);
const topology = topologyChoice.ok ? topologyChoice.value : fail(topologyChoice.error);
const only = opt('only')?.split(',').map((s) => s.trim());
for (const name of only ?? []) if (name !== 'clean' && name !== 'races' && !isFaultId(name)) fail(`bad --only '${name}': expected fault ids (${faultIdRanges()}), races or clean`);
/** A race fault is one whose id is R..: the registry's own split (src/shared/fault.ts), so a new one joins by itself. */
const isRace = (name: string): boolean => name.startsWith('R');
const wanted = (name: string): boolean => only === undefined || only.includes(name) || (only.includes('races') && isRace(name));
const groupsRaw = opt('groups');
const groupRate = groupsRaw === undefined ? DEFAULT_GROUP_RATE : Number(groupsRaw);
if (groupsRaw !== undefined && (groupsRaw.trim() === '' || !Number.isFinite(groupRate) || groupRate < 0 || groupRate > 1)) fail(`bad --groups '${groupsRaw}': expected a fraction from 0 to 1`);
const schedChoice = parseChoice('sched', opt('sched') ?? 'mix', GROUP_SCHEDULERS);
const groups: GroupOptions = { rate: groupRate, scheduler: schedChoice.ok ? schedChoice.value : fail(schedChoice.error) };
const stem = opt('name') ?? 'faults';
if (!/^[A-Za-z0-9._-]+$/.test(stem)) fail(`bad --name '${stem}': expected a file stem (letters, digits, . _ -)`);
const dryRun = args.ok && args.value.options.get('dry-run') === true;
const outDir = opt('out') ?? 'bench';

const now = new Date();
const cpu = cpus();
const ctx: BenchContext = {
  date: opt('date') ?? now.toISOString().slice(0, 10),
  machine: { node: process.version, cpu: cpu[0]?.model.trim() ?? 'unknown CPU', cores: cpu.length, os: `${osPlatform()} ${arch()}` },
  budget: { runs, seconds },
  topology,
  seeds,
  groups: { rate: groups.rate, scheduler: groups.scheduler },
};

const runSeeds = (fault: FaultId | undefined, platform: Platform): SeedResult[] =>
  seeds.map((seed) => {
    const f = findFault(fault, { platform, topology, seed, runs, seconds, groups });
    return {
      seed: f.seed, found: f.found,
      ...(f.invariant === undefined ? {} : { invariant: f.invariant }),
      ...(f.firstInvariant === undefined ? {} : { firstInvariant: f.firstInvariant }),
      expected: f.expected, runs: f.runs,
      ...(f.runsToFailure === undefined ? {} : { runsToFailure: f.runsToFailure }),
      ...(f.msToFailure === undefined ? {} : { msToFailure: round(f.msToFailure) }),
      ...(f.shrunkLength === undefined ? {} : { shrunkLength: f.shrunkLength }),
      ...(f.shrinkMs === undefined ? {} : { shrinkMs: round(f.shrinkMs) }),
      elapsedMs: round(f.elapsedMs),
      ...(f.trace === undefined ? {} : { counterexample: f.trace.commands.map(formatCommand) }),
      ...(f.error === undefined ? {} : { error: f.error }),
    };
  });

const round = (ms: number): number => Math.round(ms * 10) / 10;

const plan: { fault?: FaultId; title: string; platform: Platform }[] = [
  ...(wanted('clean') ? PLATFORMS.map((platform) => ({ title: 'clean run: no fault on', platform })) : []),
  ...FAULTS.filter((f) => wanted(f.id)).flatMap((f) => faultPlatforms(f.id).map((platform) => ({ fault: f.id, title: f.title, platform }))),
];

process.stdout.write(`bench:faults: ${plan.length} rows x ${seeds.length} seeds, budget ${runs} runs or ${seconds} s per seed, ` +
  `${topology} topologies, groups ${groups.rate}${groups.rate > 0 ? ` (${groups.scheduler})` : ''}; ${ctx.machine.cpu}, node ${ctx.machine.node}\n`);
// Untimed warm-up, so the first row does not pay for the JIT.
for (const platform of PLATFORMS) findFault(undefined, { platform, topology, seed: 1, runs: 300 });
const rows: FaultRow[] = [];
const benchStart = performance.now();
for (const p of plan) {
  const started = performance.now();
  const row: FaultRow = { ...(p.fault === undefined ? {} : { fault: p.fault }), title: p.title, platform: p.platform, seeds: runSeeds(p.fault, p.platform) };
  rows.push(row);
  const s = summarizeRow(row);
  process.stdout.write(`  ${rowName(row).padEnd(5)} ${p.platform.padEnd(6)}  found ${s.found}/${s.total}  ` +
    `${s.invariants.map((i) => i.id).join(',') || '-'}  median to 1st failure ${formatSeconds(s.medianMs)}  ` +
    `(${formatSeconds(performance.now() - started)})\n`);
}
process.stdout.write(`\n${formatFaultTable(rows).join('\n')}\n\ntotal ${formatSeconds(performance.now() - benchStart)}\n`);

const clean = cleanViolations(rows);
const errors = rows.reduce((n, r) => n + summarizeRow(r).errors, 0);
if (!dryRun) {
  const json = {
    benchFormat: 1,
    harnessVersion: harnessVersion(),
    date: ctx.date,
    generatedAt: now.toISOString(),
    machine: ctx.machine,
    budget: ctx.budget,
    topology,
    groups: ctx.groups,
    seeds,
    cleanViolations: clean,
    rows: rows.map((r) => ({ ...r, expected: r.fault === undefined ? [] : FAULTS.find((f) => f.id === r.fault)!.expected, summary: summarizeRow(r) })),
  };
  for (const [file, text] of [[`${stem}.json`, `${JSON.stringify(json, null, 2)}\n`], [`${stem}.md`, renderFaultsMarkdown(ctx, rows)]] as const) {
    const w = writeFileAtomic(join(outDir, file), text);
    if (!w.ok) fail(w.error);
    process.stdout.write(`wrote ${w.ok ? w.value : ''}\n`);
  }
}
if (clean > 0) process.stderr.write(`bench:faults: the clean run found ${clean} violation(s): the correct impl or the invariants are wrong\n`);
if (errors > 0) process.stderr.write(`bench:faults: ${errors} seed(s) failed without a trace (a harness bug)\n`);
process.exitCode = clean > 0 || errors > 0 ? 1 : 0;
