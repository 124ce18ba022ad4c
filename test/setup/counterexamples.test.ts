import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadTrace } from '../../src/trace/index.js';
import { sampleTrace } from '../trace/sampleTrace.js';
import { claimInvariant, saveTestTrace } from './counterexamples.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-cex-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('One broken rule, one failing test', () => {
  test('The first claim of an invariant wins; later ones learn who owns it', () => {
    const d = join(dir, 'claims');
    expect(claimInvariant(d, 'I6', 'a.test.ts > first')).toEqual({ first: true });
    expect(claimInvariant(d, 'I6', 'b.test.ts > second')).toEqual({ first: false, owner: 'a.test.ts > first' });
    expect(claimInvariant(d, 'I7', 'b.test.ts > second')).toEqual({ first: true });
  });

  test('A counterexample is saved as a valid trace named by platform, invariant and dedup key', () => {
    const path = saveTestTrace(sampleTrace(), join(dir, 'traces'));
    expect(path).toMatch(/\/vtd-SVA001-[0-9a-f]{16}\.json$/);
    expect(loadTrace(path)).toEqual({ ok: true, value: sampleTrace() });
  });

  test('Three searches that break the same rule: one failure naming the trace, two skips, traces under the folder', () => {
    const traces = join(dir, 'child');
    const report = join(dir, 'report.json');
    const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/oneRule/vitest.config.ts',
      '--reporter=json', `--outputFile=${report}`], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, SVA_TEST_TRACES: traces } });
    expect(r.status).toBe(1);
    const results = (JSON.parse(readFileSync(report, 'utf8')) as { testResults: { assertionResults: { status: string; failureMessages: string[] }[] }[] })
      .testResults.flatMap((f) => f.assertionResults);
    expect(results.map((a) => a.status).sort()).toEqual(['failed', 'skipped', 'skipped']);
    const failure = results.find((a) => a.status === 'failed')!.failureMessages[0]!;
    const path = /trace: (\S+\.json)/.exec(failure)?.[1];
    expect(path?.startsWith(`${traces}/vtd-`)).toBe(true);
    expect(failure).toContain(`replay: npx sva-harness replay ${path}`);
    expect(readdirSync(traces).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(1);
  });
});
