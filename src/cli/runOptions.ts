import { FAULTS, faultIdRanges, FINDING_NAMES, MAX_MMS, MAX_PAGES, PLATFORMS, isFaultId, isFindingName } from '../shared/index.js';
import type { FaultId, FindingName, Platform } from '../shared/index.js';
import { type Checked, bad, good } from '../trace/index.js';
import type { OptionDef, ParsedArgs } from './args.js';
import type { Budget, RunOptions, TopologyChoice } from '../harness/index.js';
import { DEFAULT_STEP_TIMEOUT_MS } from '../harness/supervise.js';
import { parseChoice, parseCount, parseDuration, parsePlatforms, parseSeed, parseSlice } from './values.js';

/** The budget when neither --runs nor --time is given. */
/** 2000 runs in all, split over the three platforms as they were over two. */
export const DEFAULT_BUDGET: Budget = { kind: 'runs', runs: 667 };
export const DEFAULT_TRACES_DIR = 'traces';
/**
 * Share of generated steps that are concurrent groups when --groups is not given, the same as
 * models/groups.ts DEFAULT_GROUP_RATE (a test holds them equal; the CLI does not import models/):
 * on, so that a default run looks for races as it looks for sequential bugs. `--groups 0` gives
 * the sequential runs, byte-identical to those before groups existed.
 */
export const DEFAULT_GROUPS = 0.15;
/** What --sched accepts: `mix` is half PCT, half random, per group. */
export const SCHED_CHOICES = ['random', 'pct', 'mix'] as const;
/** PCT's d: change points; beyond a few, PCT is a random scheduler with extra steps. */
export const MAX_PCT_DEPTH = 8;

export const RUN_OPTIONS: readonly OptionDef[] = [
  { name: 'platform', value: 'vtd|smmuv3|amd|all', help: 'platform(s) to run, one after the other (default: all; "both" is an old name for all)' },
  { name: 'topology', value: 'random|default', help: 'draw topologies (default) or use the default topology of each platform' },
  { name: 'iommus', value: 'N', help: 'pin the number of IOMMUs (1-4)' },
  { name: 'devices', value: 'N', help: 'pin the devices per IOMMU (1-4)' },
  { name: 'mms', value: 'N', help: `pin the number of mm slots (1-${MAX_MMS})` },
  { name: 'pages', value: 'N', help: `pin the user pages per mm (1-${MAX_PAGES})` },
  { name: 'pt-levels', value: '4|5', help: 'pin the CPU paging levels' },
  { name: 'seed', value: 'SEED', help: "fast-check seed, a 32-bit signed integer (default: the harness's fixed seed)" },
  { name: 'runs', value: 'N', help: `budget: number of command sequences per platform (default: ${DEFAULT_BUDGET.kind === 'runs' ? DEFAULT_BUDGET.runs : ''})` },
  { name: 'time', value: 'DURATION', help: 'budget: wall time of the whole run instead (shared by the platforms), e.g. 90s, 10m; a hard bound' },
  { name: 'slice', value: 'I/N', help: 'run part I of N of the search: N slices are the whole search (--runs split, --time each), e.g. 2/4' },
  { name: 'step-timeout', value: 'DURATION', help: 'wall time one step may take before it is a soft lockup (I-LOCKUP; default: 10s)' },
  { name: 'traces', value: 'DIR', help: `folder for counterexample traces (default: ${DEFAULT_TRACES_DIR})` },
  { name: 'fault', value: 'ID', help: `switch one historical bug back on (${faultIdRanges()}); runs only on the platforms it applies to` },
  { name: 'json', help: 'print the summary as one JSON document on stdout (for CI) instead of the table' },
  { name: 'junit', value: 'FILE', help: 'also write a JUnit XML report (one test case per platform) to FILE' },
  { name: 'fix', value: 'NAME[,NAME]', help: `switch on the proposed fix of known upstream findings (${FINDING_NAMES.join(', ')}, or all); the finding is then no longer reported as known` },
  { name: 'groups', value: 'F', help: `share of generated steps that run 2-3 commands concurrently as one group, 0-1 (default: ${DEFAULT_GROUPS}; 0: none, the sequential runs of before)` },
  { name: 'sched', value: 'random|pct|mix', help: 'scheduler of each group: random, PCT, or half each (default: mix)' },
  { name: 'pct-depth', value: 'D', help: `PCT's d, its priority change points (1-${MAX_PCT_DEPTH}; default: 2 or 3, drawn per group)` },
  { name: 'config', value: 'FILE', help: 'read these options from a JSON file (keys are the option names); the command line overrides it' },
];

/**
 * A fault narrows the platforms to those whose impl holds it (`all`, the default, becomes
 * the fault's own); a choice that leaves none is refused rather than run fault-free.
 */
const parseFaultOption = (raw: string, platforms: readonly Platform[]): Checked<{ fault: FaultId; platforms: readonly Platform[] }> => {
  if (!isFaultId(raw)) {
    const q = raw.length > 40 ? `${raw.slice(0, 37)}...` : raw;
    return bad(`bad --fault '${q}': expected a fault id ${faultIdRanges()}`);
  }
  const where = FAULTS.find((f) => f.id === raw)!.platform;
  const applies = where === 'core' ? PLATFORMS : [where];
  const kept = platforms.filter((p) => applies.includes(p));
  if (kept.length === 0) return bad(`--fault ${raw} applies to ${applies.join(', ')} only, not to --platform ${platforms.join(',')}`);
  return good({ fault: raw, platforms: kept });
};

/** `--fix a,b` or `--fix all` → the finding names, each once, in registry order. */
const parseFixes = (raw: string): Checked<readonly FindingName[]> => {
  const names = raw.split(',').map((n) => n.trim());
  if (names.length === 1 && names[0] === 'all') return good(FINDING_NAMES);
  for (const n of names) {
    if (!isFindingName(n)) return bad(`bad --fix '${n}': expected a known finding (${FINDING_NAMES.join(', ')}) or all`);
  }
  return good(FINDING_NAMES.filter((n) => names.includes(n)));
};

/** --name's value, or undefined; flags never reach here (every run option takes a value). */
const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
};

/** --groups, --sched, --pct-depth → RunOptions.concurrency (absent when --groups 0). */
const parseConcurrency = (args: ParsedArgs): Checked<RunOptions['concurrency']> => {
  const g = str(args, 'groups');
  const rate = g === undefined ? DEFAULT_GROUPS : Number(g);
  if (g !== undefined && (g.trim() === '' || !Number.isFinite(rate) || rate < 0 || rate > 1)) return bad(`bad --groups '${g}': expected a fraction from 0 to 1`);
  const sched = parseChoice('sched', str(args, 'sched') ?? 'mix', SCHED_CHOICES);
  if (!sched.ok) return sched;
  const d = str(args, 'pct-depth');
  const depth = d === undefined ? undefined : parseCount('pct-depth', d, 1, MAX_PCT_DEPTH);
  if (depth !== undefined && !depth.ok) return depth;
  if (depth !== undefined && sched.value === 'random') return bad('--pct-depth needs --sched pct or mix');
  if (rate === 0) return good(undefined);
  // `mix` is the generator's (models/groups.ts), not a SchedulerName: until RunOptions.concurrency
  // takes it (src/harness/runner.ts), it rides in the field as the string it is.
  const scheduler = sched.value as string as NonNullable<RunOptions['concurrency']>['scheduler'];
  return good({ groupRate: rate, scheduler, ...(depth === undefined ? {} : { depth: depth.value }) });
};

/** Parsed `run` options → RunOptions (without the progress sink, which main attaches). */
export const toRunOptions = (args: ParsedArgs): Checked<RunOptions> => {
  const platform = str(args, 'platform');
  const platforms = platform === undefined ? parsePlatforms('all') : parsePlatforms(platform);
  if (!platforms.ok) return platforms;

  const topoMode = parseChoice('topology', str(args, 'topology') ?? 'random', ['random', 'default'] as const);
  if (!topoMode.ok) return topoMode;
  let topology: TopologyChoice = { mode: topoMode.value };
  const pins = [['iommus', 'iommus', 4], ['devices', 'devicesPerIommu', 4], ['mms', 'mms', MAX_MMS], ['pages', 'pages', MAX_PAGES]] as const;
  for (const [option, field, max] of pins) {
    const raw = str(args, option);
    if (raw === undefined) continue;
    const n = parseCount(option, raw, 1, max);
    if (!n.ok) return n;
    topology = { ...topology, [field]: n.value };
  }
  const levels = str(args, 'pt-levels');
  if (levels !== undefined) {
    const l = parseChoice('pt-levels', levels, ['4', '5'] as const);
    if (!l.ok) return l;
    topology = { ...topology, ptLevels: l.value === '4' ? 4 : 5 };
  }

  const runs = str(args, 'runs');
  const time = str(args, 'time');
  if (runs !== undefined && time !== undefined) return bad('give --runs or --time, not both');
  let budget: Budget = DEFAULT_BUDGET;
  if (runs !== undefined) {
    const n = parseCount('runs', runs, 1);
    if (!n.ok) return n;
    budget = { kind: 'runs', runs: n.value };
  } else if (time !== undefined) {
    const s = parseDuration(time);
    if (!s.ok) return s;
    budget = { kind: 'time', seconds: s.value };
  }

  const seedText = str(args, 'seed');
  const seed = seedText === undefined ? undefined : parseSeed(seedText);
  if (seed !== undefined && !seed.ok) return seed;
  const sliceText = str(args, 'slice');
  const slice = sliceText === undefined ? undefined : parseSlice(sliceText);
  if (slice !== undefined && !slice.ok) return slice;
  const faultText = str(args, 'fault');
  const fault = faultText === undefined ? undefined : parseFaultOption(faultText, platforms.value);
  if (fault !== undefined && !fault.ok) return fault;
  const fixText = str(args, 'fix');
  const fixes = fixText === undefined ? undefined : parseFixes(fixText);
  if (fixes !== undefined && !fixes.ok) return fixes;
  const concurrency = parseConcurrency(args);
  if (!concurrency.ok) return concurrency;
  return good({
    platforms: fault === undefined ? platforms.value : fault.value.platforms,
    topology,
    budget,
    tracesDir: str(args, 'traces') ?? DEFAULT_TRACES_DIR,
    ...(seed === undefined ? {} : { seed: seed.value }),
    ...(fault === undefined ? {} : { fault: fault.value.fault }),
    ...(slice === undefined ? {} : { slice: slice.value }),
    ...(fixes === undefined ? {} : { fixes: fixes.value }),
    ...(concurrency.value === undefined ? {} : { concurrency: concurrency.value }),
  });
};

/** The options of `run` that shape its output and its watchdog, not the search. */
export interface RunOutputOptions {
  readonly json: boolean;
  readonly junit?: string;
  readonly stepTimeoutMs: number;
}

export const DEFAULT_STEP_TIMEOUT_S = DEFAULT_STEP_TIMEOUT_MS / 1000;

export const toRunOutputOptions = (args: ParsedArgs): Checked<RunOutputOptions> => {
  const t = str(args, 'step-timeout');
  const seconds = t === undefined ? good(DEFAULT_STEP_TIMEOUT_S) : parseDuration(t, 'step-timeout');
  if (!seconds.ok) return seconds;
  const junit = str(args, 'junit');
  return good({ json: args.options.get('json') === true, ...(junit === undefined ? {} : { junit }), stepTimeoutMs: seconds.value * 1000 });
};
