import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { harnessRunner } from '../../models/index.js';
import { type Shard, mergeShards, parseShard } from '../../scripts/mergeRuns.js';
import { counterexampleKey, loadTrace } from '../../src/trace/index.js';
import { runMain } from '../cli/captureIo.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shard = (index: number, count: number, traces: Shard['traces'], violations = traces.length): Shard => ({
  reportVersion: 1, seed: 1729, slice: { index, count }, budget: { kind: 'runs', runs: 100 }, topology: { mode: 'random' },
  fault: null, stopped: null,
  platforms: [{ platform: 'vtd', runs: 25, steps: 1000 * index, distinctCommands: 19, commandKinds: 19, transitionsCovered: 10 + index, transitionsTotal: 22, violations, elapsedMs: 10, stopped: null }],
  traces,
});
const t = (path: string, key: string | null) => ({ path, platform: 'vtd', invariant: 'I6', step: 3, key });

describe('Merging sharded runs', () => {
  test('Sums the counts, keeps the best coverage, collapses equal keys, and finds a missing slice', () => {
    const m = mergeShards([
      { file: 'a', shard: shard(1, 4, [t('a/x.json', 'k1')]) },
      { file: 'b', shard: shard(2, 4, [t('b/y.json', 'k1'), t('b/z.json', 'k2')]) },
      { file: 'c', shard: shard(4, 4, [], 1) },
    ], () => null);
    expect(m.platforms).toEqual([{ platform: 'vtd', runs: 75, steps: 7000, violations: 4, transitionsCoveredMax: 14, transitionsTotal: 22, stoppedShards: 0 }]);
    expect(m.findings).toEqual([
      { key: 'k1', platform: 'vtd', invariant: 'I6', trace: 'a/x.json', duplicates: ['a/x.json', 'b/y.json'] },
      { key: 'k2', platform: 'vtd', invariant: 'I6', trace: 'b/z.json', duplicates: ['b/z.json'] },
    ]);
    expect(m.coverage).toEqual([{ platform: 'vtd', seed: 1729, slices: 4, missing: [3] }]);
    expect(m.untraced).toBe(1);
  });

  test('A key recomputed from the trace file wins over the recorded one', () => {
    const m = mergeShards([{ file: 'a', shard: shard(1, 1, [t('a/x.json', 'stale')]) }], () => 'fresh');
    expect(m.findings.map((f) => f.key)).toEqual(['fresh']);
  });

  test('A file that is not a run summary is one line naming it', () => {
    expect(parseShard({ reportVersion: 1 }, 'f.json')).toMatchObject({ ok: false, error: expect.stringMatching(/^f\.json: not a run --json summary: /) });
  });

  test('End to end: four slices of a faulty search, merged by the script, one trace per distinct counterexample', async () => {
    const shards = join(dir, 'shards');
    for (const i of [1, 2, 3, 4]) {
      const out = join(shards, `search-vtd-${i}`);
      mkdirSync(out, { recursive: true });
      const r = await runMain(['run', '--platform', 'vtd', '--fault', 'B07', '--runs', '400', '--slice', `${i}/4`, '--traces', join(out, 'traces'), '--json'], { runner: harnessRunner });
      expect(r.code).toBe(1);
      writeFileSync(join(out, 'summary.json'), r.stdout);
    }
    const keys = new Set(readdirSync(shards, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('traces/') && f.endsWith('.json'))
      .map((f) => { const l = loadTrace(join(shards, f)); if (!l.ok) throw new Error(l.error); return counterexampleKey(l.value); }));
    const merged = join(dir, 'merged');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/merge-runs.ts', '--out', join(merged, 'summary.json'), '--traces-out', join(merged, 'traces'), shards],
      { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(1);
    const doc = JSON.parse(readFileSync(join(merged, 'summary.json'), 'utf8')) as ReturnType<typeof mergeShards>;
    expect(doc.shards).toBe(4);
    expect(doc.coverage).toEqual([{ platform: 'vtd', seed: 1729, slices: 4, missing: [] }]);
    expect(new Set(doc.findings.map((f) => f.key))).toEqual(keys);
    expect(readdirSync(join(merged, 'traces'))).toHaveLength(keys.size);
    expect(r.stdout).toMatch(/^## sva-harness: 4 shard\(s\), seed\(s\) 1729\n/);
    expect(r.stdout).toContain(`${keys.size} distinct counterexample(s):`);
  }, 60_000);
});
