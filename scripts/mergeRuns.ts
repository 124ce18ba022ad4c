/**
 * Merging the `run --json` summaries of a sharded search (one per CI job: a platform and a
 * slice i/n of one seed): totals per platform, whether the slices cover the whole search,
 * and the counterexamples collapsed by their dedup key (src/trace/dedupKey.ts), so the same
 * shrunk trace found by several shards is one finding. Pure functions; merge-runs.ts is the
 * entry that reads and writes files.
 */
import { z } from 'zod';
import type { Checked } from '../src/trace/index.js';
import { bad, good } from '../src/trace/index.js';

const platformSchema = z.object({
  platform: z.string(),
  runs: z.number().int().min(0),
  steps: z.number().int().min(0),
  distinctCommands: z.number().int().min(0),
  commandKinds: z.number().int().min(0),
  transitionsCovered: z.number().int().min(0),
  transitionsTotal: z.number().int().min(0),
  violations: z.number().int().min(0),
  elapsedMs: z.number().min(0),
  stopped: z.string().nullable(),
});

/** The part of a RunReport (src/cli/runReport.ts) a merge reads. */
export const shardSchema = z.object({
  reportVersion: z.literal(1),
  seed: z.number().int(),
  slice: z.object({ index: z.number().int().min(1), count: z.number().int().min(1) }).nullable(),
  budget: z.union([z.object({ kind: z.literal('runs'), runs: z.number() }), z.object({ kind: z.literal('time'), seconds: z.number() })]),
  topology: z.object({ mode: z.string() }).loose(),
  fault: z.string().nullable(),
  stopped: z.string().nullable(),
  platforms: z.array(platformSchema),
  traces: z.array(z.object({
    path: z.string(), platform: z.string().nullable(), invariant: z.string().nullable(), step: z.number().nullable(), key: z.string().nullable(),
  })),
}).loose();

export type Shard = z.infer<typeof shardSchema>;

export const parseShard = (value: unknown, file: string): Checked<Shard> => {
  const r = shardSchema.safeParse(value);
  if (r.success) return good(r.data);
  const issue = r.error.issues[0];
  return bad(`${file}: not a run --json summary: ${issue === undefined ? 'invalid' : `${issue.path.join('.') || '(top level)'}: ${issue.message}`}`);
};

export interface Finding {
  readonly key: string;
  readonly platform: string | null;
  readonly invariant: string | null;
  /** The trace kept: the first path in sorted order. */
  readonly trace: string;
  /** Every shard trace with this key, the kept one included. */
  readonly duplicates: readonly string[];
}

export interface Merged {
  readonly mergeVersion: 1;
  readonly shards: number;
  readonly seeds: readonly number[];
  /** Per platform and search (seed + budget + topology + fault): are all n slices there? */
  readonly coverage: readonly { readonly platform: string; readonly seed: number; readonly slices: number | null; readonly missing: readonly number[] }[];
  readonly platforms: readonly {
    readonly platform: string; readonly runs: number; readonly steps: number; readonly violations: number;
    /** Coverage counts cannot be unioned from counts: the best shard's. */
    readonly transitionsCoveredMax: number; readonly transitionsTotal: number; readonly stoppedShards: number;
  }[];
  readonly findings: readonly Finding[];
  /** Shards that found a violation whose trace is missing or unreadable. */
  readonly untraced: number;
}

/**
 * `shards[i].traces[j].key` is the key as recorded, or as recomputed from the file by the
 * caller (`keyOf`, which returns null for a trace that cannot be read).
 */
export const mergeShards = (shards: readonly { readonly file: string; readonly shard: Shard }[], keyOf: (tracePath: string, shardFile: string) => string | null): Merged => {
  const byPlatform = new Map<string, { runs: number; steps: number; violations: number; best: number; total: number; stopped: number }>();
  const searches = new Map<string, { platform: string; seed: number; count: number | null; seen: Set<number> }>();
  const findings = new Map<string, { platform: string | null; invariant: string | null; paths: string[] }>();
  let untraced = 0;
  for (const { file, shard } of shards) {
    for (const p of shard.platforms) {
      const acc = byPlatform.get(p.platform) ?? { runs: 0, steps: 0, violations: 0, best: 0, total: 0, stopped: 0 };
      acc.runs += p.runs;
      acc.steps += p.steps;
      acc.violations += p.violations;
      acc.best = Math.max(acc.best, p.transitionsCovered);
      acc.total = Math.max(acc.total, p.transitionsTotal);
      if (p.stopped !== null) acc.stopped++;
      byPlatform.set(p.platform, acc);
      const id = JSON.stringify([p.platform, shard.seed, shard.budget, shard.topology, shard.fault, shard.slice?.count ?? null]);
      const s = searches.get(id) ?? { platform: p.platform, seed: shard.seed, count: shard.slice?.count ?? null, seen: new Set<number>() };
      s.seen.add(shard.slice?.index ?? 1);
      searches.set(id, s);
    }
    const traced = shard.traces.filter((t) => {
      const key = keyOf(t.path, file) ?? t.key;
      if (key === null) return false;
      const f = findings.get(key) ?? { platform: t.platform, invariant: t.invariant, paths: [] };
      f.paths.push(t.path);
      findings.set(key, f);
      return true;
    }).length;
    const violations = shard.platforms.reduce((a, p) => a + p.violations, 0);
    if (violations > traced) untraced += violations - traced;
  }
  const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return {
    mergeVersion: 1,
    shards: shards.length,
    seeds: [...new Set(shards.map((s) => s.shard.seed))].sort((a, b) => a - b),
    coverage: [...searches.values()]
      .map((s) => ({
        platform: s.platform, seed: s.seed, slices: s.count,
        missing: s.count === null ? [] : Array.from({ length: s.count }, (_, i) => i + 1).filter((i) => !s.seen.has(i)),
      }))
      .sort((a, b) => byName(a.platform, b.platform) || a.seed - b.seed),
    platforms: [...byPlatform.entries()].sort(([a], [b]) => byName(a, b)).map(([platform, a]) => ({
      platform, runs: a.runs, steps: a.steps, violations: a.violations, transitionsCoveredMax: a.best, transitionsTotal: a.total, stoppedShards: a.stopped,
    })),
    findings: [...findings.entries()].sort(([a], [b]) => byName(a, b)).map(([key, f]) => {
      const paths = [...f.paths].sort(byName);
      return { key, platform: f.platform, invariant: f.invariant, trace: paths[0]!, duplicates: paths };
    }),
    untraced,
  };
};

/** A Markdown summary (for $GITHUB_STEP_SUMMARY or a CI log). */
export const formatMerged = (m: Merged): string => {
  const lines = [
    `## sva-harness: ${m.shards} shard(s), seed(s) ${m.seeds.join(', ')}`,
    '',
    '| platform | runs | steps | violations | transitions (best shard) | shards stopped early |',
    '|---|---|---|---|---|---|',
    ...m.platforms.map((p) => `| ${p.platform} | ${p.runs} | ${p.steps} | ${p.violations} | ${p.transitionsCoveredMax}/${p.transitionsTotal} | ${p.stoppedShards} |`),
    '',
  ];
  const gaps = m.coverage.filter((c) => c.missing.length > 0);
  if (gaps.length > 0) lines.push(...gaps.map((g) => `- **incomplete**: ${g.platform} seed ${g.seed}: slice(s) ${g.missing.join(', ')} of ${g.slices} missing`), '');
  if (m.findings.length === 0 && m.untraced === 0) lines.push('No counterexample.');
  else {
    lines.push(`${m.findings.length} distinct counterexample(s):`, '');
    for (const f of m.findings) {
      lines.push(`- ${f.platform ?? '?'} ${f.invariant ?? '?'} \`${f.key}\`: ${f.trace}${f.duplicates.length > 1 ? ` (found by ${f.duplicates.length} shards)` : ''}`);
    }
    if (m.untraced > 0) lines.push(`- ${m.untraced} violation(s) without a readable trace: see the shards' logs`);
  }
  return `${lines.join('\n')}\n`;
};
