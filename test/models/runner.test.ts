import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_SEED, harnessRunner } from '../../models/index.js';
import type { Progress } from '../../src/harness/index.js';
import type { FaultId } from '../../src/shared/index.js';
import { loadTrace } from '../../src/trace/index.js';
import { runMain } from '../cli/captureIo.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-runner-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('The harness runner', () => {
  test('Is wired into the CLI by the entry point, and neither src/cli nor src/harness imports models/', () => {
    const importsModels = (dir: string): string[] =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .filter((f) => /from '(\.\.\/)+models\//.test(readFileSync(join(dir, f), 'utf8')));
    expect(importsModels('src/cli')).toEqual([]);
    expect(importsModels('src/harness')).toEqual([]);
    expect(readFileSync('bin/sva-harness.mjs', 'utf8')).toMatch(/harnessRunner/);
  });

  test('A run budget gives a summary per platform, progress, and no trace on the correct impl', () => {
    const seen: Progress[] = [];
    const r = harnessRunner.run({
      platforms: ['vtd', 'smmuv3'], topology: { mode: 'random' }, budget: { kind: 'runs', runs: 30 }, tracesDir: dir,
      progress: (p) => seen.push(p),
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.seed).toBe(DEFAULT_SEED);
    expect(r.value.traces).toEqual([]);
    expect(r.value.platforms.map((p) => [p.platform, p.runs, p.violations])).toEqual([['vtd', 30, 0], ['smmuv3', 30, 0]]);
    for (const p of r.value.platforms) {
      expect(p.steps).toBeGreaterThan(500);
      expect(p.transitionsCovered).toBeGreaterThan(10);
      expect(p.transitionsCovered).toBeLessThanOrEqual(p.transitionsTotal);
    }
    expect(seen.at(-1)).toMatchObject({ platform: 'smmuv3', done: 1 });
    expect(readdirSync(dir)).toEqual([]);
  });

  test('The same seed and options give the same counts', () => {
    const once = () => harnessRunner.run({ platforms: ['vtd'], topology: { mode: 'default', mms: 2 }, seed: 9, budget: { kind: 'runs', runs: 10 }, tracesDir: dir });
    const a = once();
    const b = once();
    expect(a.ok && b.ok && a.value.platforms[0]!.steps).toBe(b.ok && b.value.platforms[0]!.steps);
  });

  test('An unknown fault name is refused with one line', () => {
    const r = harnessRunner.run({ platforms: ['vtd'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 1 }, tracesDir: dir, fault: 'nope' as FaultId });
    expect(r).toEqual({ ok: false, error: "unknown fault 'nope' (known: B01-B19, B30-B31, B40-B41, B50-B53, B60-B61, R01-R05)" });
  });

  test('`sva-harness run` ends with the summary table and exit 0 through the real runner', async () => {
    const out = await runMain(['run', '--platform', 'smmuv3', '--runs', '5', '--traces', dir], { runner: harnessRunner });
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^seed 1729\nplatform/);
    expect(out.stdout).toMatch(/smmuv3\s+5\s/);
  });

  test('Replaying a known finding\'s trace shows its violation; its run summary lists it as known', () => {
    const loaded = loadTrace(new URL('../../regressions/upstream/vtd-iopf-remove-nonpri.json', import.meta.url).pathname);
    if (!loaded.ok) throw new Error(loaded.error);
    const r = harnessRunner.replay(loaded.value);
    expect(r.ok && r.value.trace.violation).toMatchObject({ invariant: 'I-SPLAT', step: 2 });
    const dir = mkdtempSync(join(tmpdir(), 'sva-known-'));
    try {
      const run = harnessRunner.run({ platforms: ['vtd'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 30 }, tracesDir: dir });
      if (!run.ok) throw new Error(run.error);
      expect(run.value.platforms[0]!.violations).toBe(0);
      expect(run.value.platforms[0]!.known.map((k) => k.finding)).toContain('vtd-iopf-remove-nonpri');
      const fixed = harnessRunner.run({ platforms: ['vtd'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 30 }, tracesDir: dir, fixes: ['vtd-iopf-remove-nonpri', 'vtd-release-fpd-lost'] });
      if (!fixed.ok) throw new Error(fixed.error);
      expect(fixed.value).toMatchObject({ fixes: ['vtd-iopf-remove-nonpri', 'vtd-release-fpd-lost'] });
      expect(fixed.value.platforms[0]!.known).toEqual([]);
      expect(fixed.value.platforms[0]!.violations).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Nothing found is lost', () => {
  test('A trace that cannot be written where asked goes to the fallback folder; the violation is still reported', async () => {
    const { FALLBACK_TRACES_DIR } = await import('../../src/trace/index.js');
    const { writeFileSync } = await import('node:fs');
    const notAFolder = join(dir, 'file-not-folder');
    writeFileSync(notAFolder, 'x');
    const seen: string[] = [];
    const r = harnessRunner.run({
      platforms: ['vtd'], topology: { mode: 'random' }, budget: { kind: 'runs', runs: 200 }, tracesDir: notAFolder, fault: 'B01',
      onTrace: (p) => seen.push(p),
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.platforms[0]?.violations).toBe(1);
    expect(r.value.traces).toHaveLength(1);
    const path = r.value.traces[0]!;
    expect(path.startsWith(`${FALLBACK_TRACES_DIR}/`)).toBe(true);
    expect(seen).toEqual([path]);
    expect(r.value.notes?.[0]).toMatch(new RegExp(`^vtd: ${notAFolder}/vtd-seed\\d+-I1-[0-9a-f]{8}\\.json: cannot write: .*; the trace was written to ${path} instead$`));
    rmSync(path);
  });
});
