import { COMMAND_KINDS, faultIdRanges, MAX_MMS, MAX_PAGES, isFaultId } from '../../shared/index.js';
import type { CommandKind } from '../../shared/index.js';
import { DEFAULT_EXPLORE_SCOPE } from '../../harness/index.js';
import type { ExploreOptions, ExploreProgress, ExploreSummary } from '../../harness/index.js';
import { type Checked, bad, good } from '../../trace/index.js';
import type { ParsedArgs } from '../args.js';
import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK, EXIT_VIOLATION } from '../exit.js';
import { groupDigits } from '../progress.js';
import { formatTable } from '../summary.js';
import { parseChoice, parseCount, parseDuration, parsePlatforms } from '../values.js';

const DEFAULTS = DEFAULT_EXPLORE_SCOPE;
const DEFAULT_DEPTH = 6;

const OPTIONS = [
  { name: 'platform', value: 'vtd|smmuv3|amd|all', help: 'platform(s) to explore, one after the other (default: all)' },
  { name: 'iommus', value: 'N', help: `IOMMUs in the scope (1-4, default ${DEFAULTS.iommus})` },
  { name: 'devices', value: 'N', help: `devices per IOMMU (1-4, default ${DEFAULTS.devicesPerIommu})` },
  { name: 'mms', value: 'N', help: `mm slots (1-${MAX_MMS}, default ${DEFAULTS.mms})` },
  { name: 'pages', value: 'N', help: `user pages per mm (1-${MAX_PAGES}, default ${DEFAULTS.pages})` },
  { name: 'kpages', value: 'N', help: `kernel vmalloc pages (0-4, default ${DEFAULTS.kpages})` },
  { name: 'pasid-bits', value: 'N', help: `PASID width of the IOMMUs (1-20, default ${DEFAULTS.pasidBits})` },
  { name: 'depth', value: 'N', help: `longest command sequence explored (default ${DEFAULT_DEPTH})` },
  { name: 'order', value: 'bfs|dfs', help: 'breadth first (default: the first violation is a shortest one) or depth first' },
  { name: 'kinds', value: 'LIST', help: 'comma-separated command kinds to explore (default: all)' },
  { name: 'no-symmetry', help: 'explore mirror images of interchangeable mm slots and devices too' },
  { name: 'time', value: 'DURATION', help: 'wall-time budget per platform, e.g. 60s, 5m (default: none)' },
  { name: 'traces', value: 'DIR', help: 'folder for the counterexample trace (default: traces)' },
  { name: 'fault', value: 'ID', help: `switch one historical bug back on (${faultIdRanges()})` },
];

const str = (args: ParsedArgs, name: string): string | undefined => {
  const v = args.options.get(name);
  return typeof v === 'string' ? v : undefined;
};

const count = (args: ParsedArgs, option: string, fallback: number, min: number, max: number): Checked<number> => {
  const raw = str(args, option);
  return raw === undefined ? good(fallback) : parseCount(option, raw, min, max);
};

const parseKinds = (raw: string): Checked<readonly CommandKind[]> => {
  const kinds = raw.split(',').map((k) => k.trim()).filter((k) => k !== '');
  const unknown = kinds.find((k) => !(COMMAND_KINDS as readonly string[]).includes(k));
  if (unknown !== undefined) return bad(`bad --kinds: unknown kind '${unknown.slice(0, 40)}' (kinds: ${COMMAND_KINDS.join(', ')})`);
  return kinds.length === 0 ? bad('bad --kinds: empty list') : good(kinds as CommandKind[]);
};

export const toExploreOptions = (args: ParsedArgs): Checked<ExploreOptions> => {
  const platforms = parsePlatforms(str(args, 'platform') ?? 'all');
  if (!platforms.ok) return platforms;
  const dims = [
    count(args, 'iommus', DEFAULTS.iommus, 1, 4), count(args, 'devices', DEFAULTS.devicesPerIommu, 1, 4),
    count(args, 'mms', DEFAULTS.mms, 1, MAX_MMS), count(args, 'pages', DEFAULTS.pages, 1, MAX_PAGES),
    count(args, 'kpages', DEFAULTS.kpages, 0, 4), count(args, 'pasid-bits', DEFAULTS.pasidBits, 1, 20),
    count(args, 'depth', DEFAULT_DEPTH, 1, 64),
  ];
  for (const d of dims) if (!d.ok) return d;
  const [iommus, devicesPerIommu, mms, pages, kpages, pasidBits, depth] = dims.map((d) => (d.ok ? d.value : 0)) as [number, number, number, number, number, number, number];
  const order = parseChoice('order', str(args, 'order') ?? 'bfs', ['bfs', 'dfs'] as const);
  if (!order.ok) return order;
  const kindsText = str(args, 'kinds');
  const kinds = kindsText === undefined ? undefined : parseKinds(kindsText);
  if (kinds !== undefined && !kinds.ok) return kinds;
  const time = str(args, 'time');
  const seconds = time === undefined ? undefined : parseDuration(time);
  if (seconds !== undefined && !seconds.ok) return seconds;
  const fault = str(args, 'fault');
  if (fault !== undefined && !isFaultId(fault)) {
    return bad(`bad --fault '${fault.slice(0, 40)}': expected a fault id ${faultIdRanges()}`);
  }
  return good({
    platforms: platforms.value,
    scope: { iommus, devicesPerIommu, mms, pages, kpages, pasidBits },
    depth, order: order.value,
    symmetry: args.options.get('no-symmetry') !== true,
    tracesDir: str(args, 'traces') ?? 'traces',
    ...(kinds === undefined ? {} : { kinds: kinds.value }),
    ...(seconds === undefined ? {} : { seconds: seconds.value }),
    ...(fault === undefined ? {} : { fault }),
  });
};

/** `vtd  depth 5/8  12,345 states  56,789 transitions  4,321 states/s  [#####-----] 50%` */
export const renderExploreProgress = (p: ExploreProgress): string => {
  const rate = p.elapsedMs > 0 ? (p.states * 1000) / p.elapsedMs : 0;
  const bar = p.done > 0 ? `  [${'#'.repeat(Math.floor(p.done * 10)).padEnd(10, '-')}] ${Math.floor(p.done * 100)}% of the time budget` : '';
  return `${p.platform.padEnd(7)}depth ${p.depth + 1}/${p.maxDepth}  ${groupDigits(p.states)} states  ` +
    `${groupDigits(p.transitions)} transitions  ${groupDigits(rate)} states/s${bar}`;
};

export const formatExploreSummary = (s: ExploreSummary): string[] => {
  const rows = s.platforms.map((p) => [
    p.platform,
    groupDigits(p.distinctStates),
    groupDigits(p.transitions),
    p.timedOut ? `${p.depthComplete} (time budget)` : String(p.depthComplete),
    groupDigits(p.elapsedMs > 0 ? (p.distinctStates * 1000) / p.elapsedMs : 0),
    `${(p.elapsedMs / 1000).toFixed(1)} s`,
    p.violation === undefined ? 'none' : `${p.violation.invariant} in ${p.violation.length} steps`,
  ]);
  const lines = formatTable(['platform', 'distinct states', 'transitions', 'depth complete', 'states/s', 'time', 'violation'], rows);
  if (s.fault !== undefined) lines.push(`fault on: ${s.fault}`);
  for (const p of s.platforms) {
    if (p.violation === undefined) {
      lines.push(`${p.platform}: no violation in any sequence of at most ${p.depthComplete} commands in this scope` +
        (p.timedOut ? ' (stopped by the time budget: deeper sequences unchecked)' : ''));
    }
  }
  return lines;
};

export const exploreCommand: CliCommand = {
  name: 'explore',
  title: 'check every command sequence up to a depth in a small scope (exhaustive)',
  summary: 'Explore every command sequence of at most --depth commands in a small scope, breadth first,\n' +
    'with every invariant checked after every step. Each distinct state (a fingerprint of the spec\n' +
    'state and the whole emulated world) is expanded once; mirror images of interchangeable mm slots\n' +
    'and devices are skipped. A violation is written as a shortest trace that replay and show take.',
  positionals: [],
  options: OPTIONS,
  notes: [
    'Scope devices are PASID- and ATS-capable, without PRI, each alone in its group.',
    'A clean result states the depth it proves: with --time, only the depths finished in time.',
    'Exit code 1 when a violation is found (its trace path is printed), 2 on bad input.',
  ],
  run: (args, { io, explorer }) => {
    const opts = toExploreOptions(args);
    if (!opts.ok) return usageError(io, 'explore', opts.error);
    if (explorer === undefined) return usageError(io, 'explore', 'the explorer is not wired (run it through bin/sva-harness.mjs)');
    let last = -Infinity;
    let drawn = false;
    const progress = io.tty === undefined ? undefined : (p: ExploreProgress): void => {
      const t = io.now();
      if (t - last < 100) return;
      last = t;
      drawn = true;
      io.tty!.write(`\r${renderExploreProgress(p).slice(0, (io.tty!.columns ?? 100) - 1)}\x1b[K`);
    };
    let result: ReturnType<NonNullable<typeof explorer>['explore']>;
    try {
      result = explorer.explore(progress === undefined ? opts.value : { ...opts.value, progress });
    } finally {
      if (drawn) io.tty!.write('\r\x1b[K');
    }
    if (!result.ok) return usageError(io, 'explore', result.error);
    io.out(`${formatExploreSummary(result.value).join('\n')}\n`);
    for (const path of result.value.traces) io.out(`violation trace: ${path}  (replay: npx sva-harness replay ${path})\n`);
    return result.value.traces.length > 0 ? EXIT_VIOLATION : EXIT_OK;
  },
};
