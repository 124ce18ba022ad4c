/**
 * Merges the `sva-harness run --json` summaries of a sharded search and collapses duplicate
 * counterexamples (mergeRuns.ts). Prints a Markdown summary on stdout (CI appends it to the
 * job summary); with --out writes the merged JSON, with --traces-out copies one trace per
 * distinct counterexample. Paths are summary files or folders (searched for summary.json).
 * A trace path in a summary is found as written, under the summary's folder, or in its
 * traces/ subfolder (where an uploaded CI artifact puts it).
 *
 * Usage: npm run -s merge-runs -- [--out FILE] [--traces-out DIR] PATH...
 * Exit: 0 clean and complete, 1 a counterexample found or a slice missing, 2 bad input.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { counterexampleKey, loadTrace, parseJsonText, readTextFile, writeFileAtomic, writeTrace } from '../src/trace/index.js';
import { type Shard, formatMerged, mergeShards, parseShard } from './mergeRuns.js';

const fail = (message: string): never => {
  process.stderr.write(`merge-runs: ${message}\n`);
  process.exit(2);
};

/** `--out FILE`, `--traces-out DIR` (or `--name=value`), and any number of paths. */
const parseCommandLine = (argv: readonly string[]): { out?: string; tracesOut?: string; paths: string[] } => {
  const values = new Map<string, string>();
  const paths: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (!a.startsWith('--')) {
      paths.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (name !== 'out' && name !== 'traces-out') fail(`unknown option '--${name}' (options: --out FILE, --traces-out DIR)`);
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '' || value.startsWith('--')) fail(`option --${name} needs a value`);
    values.set(name, value!);
  }
  const out = values.get('out');
  const tracesOut = values.get('traces-out');
  return { ...(out === undefined ? {} : { out }), ...(tracesOut === undefined ? {} : { tracesOut }), paths };
};

const cli = parseCommandLine(process.argv.slice(2));
if (cli.paths.length === 0) fail('give the summary files or folders to merge');

const summaries = (path: string): string[] => {
  const st = statSync(path, { throwIfNoEntry: false });
  if (st === undefined) return fail(`${path}: no such file or directory`);
  if (!st.isDirectory()) return [path];
  return readdirSync(path, { recursive: true, encoding: 'utf8' })
    .filter((f) => basename(f) === 'summary.json')
    .sort()
    .map((f) => join(path, f));
};

const files = cli.paths.flatMap(summaries);
if (files.length === 0) fail(`no summary.json under ${cli.paths.join(', ')}`);

const resolveTrace = (p: string, summary: string): string => {
  const candidates = [p, join(dirname(summary), p), join(dirname(summary), 'traces', basename(p))];
  return candidates.find((c) => existsSync(c)) ?? p;
};

const shards: { file: string; shard: Shard }[] = files.map((file) => {
  const text = readTextFile(file, 16 * 1024 * 1024, 'run summary');
  if (!text.ok) return fail(text.error);
  const json = parseJsonText(text.value, file, 16 * 1024 * 1024, 'run summary');
  if (!json.ok) return fail(json.error);
  const shard = parseShard(json.value, file);
  if (!shard.ok) return fail(shard.error);
  return { file, shard: { ...shard.value, traces: shard.value.traces.map((t) => ({ ...t, path: resolveTrace(t.path, file) })) } };
});

const merged = mergeShards(shards, (path) => {
  const t = loadTrace(path);
  return t.ok ? counterexampleKey(t.value) : null;
});

if (cli.out !== undefined) {
  const w = writeFileAtomic(cli.out, `${JSON.stringify(merged, null, 2)}\n`);
  if (!w.ok) fail(w.error);
}
const tracesOut = cli.tracesOut;
if (tracesOut !== undefined) {
  for (const f of merged.findings) {
    const t = loadTrace(f.trace);
    if (!t.ok) fail(t.error);
    else {
      const w = writeTrace(join(tracesOut, basename(f.trace)), t.value);
      if (!w.ok) fail(w.error);
    }
  }
}
process.stdout.write(formatMerged(merged));
const incomplete = merged.coverage.some((c) => c.missing.length > 0);
process.exit(merged.findings.length > 0 || merged.untraced > 0 || incomplete ? 1 : 0);
