import { exploreSchedules } from '../exploreSchedules.js';
import { loadTrace, writeTrace } from '../../trace/index.js';
import { type CliCommand, usageError } from '../command.js';
import { EXIT_OK, EXIT_VIOLATION } from '../exit.js';
import { parseCount } from '../values.js';

export const DEFAULT_PREEMPTIONS = 2;
const DEFAULT_LIMIT = 20_000;

/** Where the failing schedule goes by default: beside the input, `x.json` → `x.schedule.json`. */
const defaultOut = (path: string): string => `${path.replace(/\.json$/, '')}.schedule.json`;

export const exploreSchedulesCommand: CliCommand = {
  name: 'explore-schedules',
  title: "run every schedule of a trace's first concurrent group with at most K preemptions",
  summary: "Take a saved trace's first concurrent group and run it under every schedule with at most K\n" +
    'preemptions (CHESS-style preemption bounding), each on a fresh session reached by replaying the\n' +
    'commands before the group. Prints how many schedules ran and the first that breaks an\n' +
    'invariant (or is not linearizable), saved as a trace that replay and show take.',
  positionals: ['<trace>'],
  options: [
    { name: 'preemptions', value: 'K', help: `preemption bound (default: ${DEFAULT_PREEMPTIONS})` },
    { name: 'limit', value: 'N', help: `stop after N schedules (default: ${DEFAULT_LIMIT})` },
    { name: 'out', value: 'PATH', help: 'where to write the failing schedule (default: <trace>.schedule.json)' },
  ],
  notes: [
    'Exit code 1 when a failing schedule is found, 0 when none is (complete or stopped at the limit).',
    'The trace\'s fault and finding fixes apply, as on replay.',
  ],
  run: (args, { io }) => {
    const opt = (name: string): string | undefined => {
      const v = args.options.get(name);
      return typeof v === 'string' ? v : undefined;
    };
    const k = parseCount('preemptions', opt('preemptions') ?? String(DEFAULT_PREEMPTIONS), 0, 8);
    if (!k.ok) return usageError(io, 'explore-schedules', k.error);
    const limit = parseCount('limit', opt('limit') ?? String(DEFAULT_LIMIT), 1);
    if (!limit.ok) return usageError(io, 'explore-schedules', limit.error);
    const path = args.positionals[0]!;
    const loaded = loadTrace(path);
    if (!loaded.ok) return usageError(io, 'explore-schedules', loaded.error);
    const r = exploreSchedules(loaded.value, k.value, limit.value);
    if (!r.ok) return usageError(io, 'explore-schedules', `${path}: ${r.error}`);
    const { schedules, complete, failing, invariant } = r.value;
    const g = loaded.value.groups![0]!;
    const what = `group #${g.at}..#${g.at + g.size - 1} (${g.size} tasks), at most ${k.value} preemption(s)`;
    if (failing === undefined) {
      io.out(`explore-schedules: ${what}: ${schedules} schedule(s) explored, ${complete ? 'all of them' : `stopped at the limit ${limit.value}`}, none fails\n`);
      return EXIT_OK;
    }
    const out = opt('out') ?? defaultOut(path);
    const w = writeTrace(out, failing);
    if (!w.ok) return usageError(io, 'explore-schedules', w.error);
    const sw = failing.groups?.[0]?.switches ?? [];
    io.out(`explore-schedules: ${what}: schedule ${schedules} fails with ${invariant ?? failing.violation?.invariant ?? '?'}` +
      ` (switches ${sw.map((s) => `${s.at}→${s.to}`).join(', ') || 'none'}); ${schedules} schedule(s) explored\n` +
      `failing schedule written to ${out} (sva-harness replay ${out})\n`);
    return EXIT_VIOLATION;
  },
};
