/**
 * .github/workflows/sva-harness.yml, checked structurally: it parses as YAML, has the shape
 * GitHub Actions reads, and says what the README says it does. Every `sva-harness run` option
 * and npm script it uses exists, so renaming an option breaks this test, not CI.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { RUN_OPTIONS } from '../../src/cli/runOptions.js';
import { PLATFORMS } from '../../src/shared/index.js';

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly shell?: string;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly 'runs-on': string;
  readonly needs?: string | string[];
  readonly if?: string;
  readonly 'timeout-minutes'?: number;
  readonly strategy?: { readonly 'fail-fast'?: boolean; readonly matrix: Record<string, unknown[]> };
  readonly steps: Step[];
}

const text = readFileSync('.github/workflows/sva-harness.yml', 'utf8');
const wf = parse(text) as { name: string; on: Record<string, unknown>; env: Record<string, string>; permissions: Record<string, string>; jobs: Record<string, Job> };
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };
const runs = (job: Job): string[] => job.steps.flatMap((s) => (s.run === undefined ? [] : [s.run]));

describe('The GitHub Actions workflow', () => {
  test('Is valid YAML with the shape Actions reads: triggers, read-only permissions, jobs with steps', () => {
    expect(wf.name).toBe('sva-harness');
    expect(Object.keys(wf.on).sort()).toEqual(['pull_request', 'push', 'workflow_dispatch']);
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(Object.keys(wf.jobs).sort()).toEqual(['merge', 'search', 'test']);
    for (const [name, job] of Object.entries(wf.jobs)) {
      expect(job['runs-on'], name).toMatch(/^ubuntu-/);
      expect(job['timeout-minutes'], name).toBeGreaterThan(0);
      expect(job.steps.length, name).toBeGreaterThan(0);
      for (const s of job.steps) {
        // Exactly one of uses/run; actions pinned to a major version.
        expect((s.uses === undefined) !== (s.run === undefined), `${name}: ${JSON.stringify(s)}`).toBe(true);
        if (s.uses !== undefined) expect(s.uses).toMatch(/^actions\/(checkout|setup-node|upload-artifact|download-artifact)@v\d+$/);
      }
      expect(job.steps[0]?.uses).toMatch(/^actions\/checkout@/);
      expect(runs(job)).toContain('npm ci --no-audit --no-fund');
    }
  });

  test('The test job runs the suite with the JUnit reporter and uploads test-results/ even when it fails', () => {
    const job = wf.jobs['test']!;
    expect(runs(job)).toContain('npm run test:ci');
    expect(pkg.scripts['test:ci']).toMatch(/^npm run -s typecheck && vitest run .*--reporter=junit .*--outputFile\.junit=test-results\/junit\.xml/);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload).toMatchObject({ if: 'always()', with: { path: 'test-results/' } });
  });

  test('The search is a matrix of platform x slice: each job one disjoint slice of the same seed', () => {
    const job = wf.jobs['search']!;
    expect(job.strategy?.['fail-fast']).toBe(false);
    const { platform, slice } = job.strategy!.matrix as { platform: string[]; slice: number[] };
    for (const p of platform) expect(PLATFORMS).toContain(p);
    expect(new Set(platform).size).toBe(platform.length);
    const n = Number(wf.env['SLICES']);
    expect(slice).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const [cmd] = runs(job).filter((r) => r.includes('sva-harness run'));
    expect(cmd).toBeDefined();
    expect(cmd).toContain('--platform ${{ matrix.platform }}');
    expect(cmd).toContain('--slice ${{ matrix.slice }}/$SLICES');
    expect(cmd).toContain('--seed "$SEED"');
    expect(cmd).toMatch(/--json > out\/summary\.json/);
    // Every option it passes exists.
    const known = new Set(RUN_OPTIONS.map((o) => o.name));
    for (const [, name] of cmd!.matchAll(/--([a-z-]+)/g)) expect(known, `--${name}`).toContain(name);
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload).toMatchObject({ if: 'always()', with: { name: 'search-${{ matrix.platform }}-${{ matrix.slice }}', path: 'out/' } });
  });

  test('The merge job runs after every slice, even failed ones, merges and uploads the distinct counterexamples', () => {
    const job = wf.jobs['merge']!;
    expect(job.needs).toBe('search');
    expect(job.if).toBe('always()');
    const download = job.steps.find((s) => s.uses?.startsWith('actions/download-artifact'));
    expect(download?.with).toMatchObject({ pattern: 'search-*', path: 'shards' });
    const merge = job.steps.find((s) => s.run?.includes('merge-runs'));
    expect(merge?.shell).toBe('bash');
    expect(merge?.run).toMatch(/^npm run -s merge-runs -- --out merged\/summary\.json --traces-out merged\/traces shards/);
    expect(pkg.scripts['merge-runs']).toBe('node --import tsx scripts/merge-runs.ts');
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact'));
    expect(upload).toMatchObject({ if: 'always()', with: { name: 'counterexamples', path: 'merged/' } });
  });
});
