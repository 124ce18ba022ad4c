import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { HarnessRunner, Progress, RunOptions, RunSummary } from '../../../src/harness/index.js';
import { runMain } from '../captureIo.js';
import { DEFAULT_BUDGET } from '../../../src/cli/runOptions.js';
import { COMMAND_KINDS, FINDING_NAMES, failSitesOf } from '../../../src/shared/index.js';

const summary = (violations: number): RunSummary => ({
  seed: 7,
  platforms: [{ platform: 'vtd', runs: 10, steps: 12345, distinctCommands: 16, transitionsCovered: 40, transitionsTotal: 45, violations, known: [], elapsedMs: 500, sitesFailed: failSitesOf('vtd'), sitesTotal: failSitesOf('vtd').length }],
  traces: violations > 0 ? ['traces/vtd-seed7-SVA001-0000abcd.json'] : [],
});

/** A runner that records its options and reports progress twice. */
const fakeRunner = (result: RunSummary, seen: RunOptions[]): HarnessRunner => ({
  run: (opts) => {
    seen.push(opts);
    const p: Progress = { platform: 'vtd', runs: 5, steps: 6000, violations: 0, done: 0.5, elapsedMs: 250 };
    opts.progress?.(p);
    opts.progress?.({ ...p, done: 1 });
    return { ok: true, value: result };
  },
  replay: () => ({ ok: false, error: 'unused' }),
});

describe('run', () => {
  test('Without a runner, run validates its options, then says it is not wired and exits 2', async () => {
    const r = await runMain(['run', '--platform', 'vtd', '--runs', '5']);
    expect(r.code).toBe(2);
    expect(r.errLines).toEqual([
      "sva-harness run: the harness runner is not wired yet (try 'sva-harness selfcheck' or 'sva-harness show <trace>')",
    ]);
  });

  test('Options reach the runner as RunOptions with the documented defaults', async () => {
    const seen: RunOptions[] = [];
    const r = await runMain(['run', '--seed', '-12', '--time', '2m', '--pages', '8', '--pt-levels', '5', '--fault', 'B01'],
      { runner: fakeRunner(summary(0), seen) });
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(1);
    const { progress: _, ...opts } = seen[0]!;
    expect(opts).toEqual({
      platforms: ['vtd', 'smmuv3'],
      topology: { mode: 'random', pages: 8, ptLevels: 5 },
      budget: { kind: 'time', seconds: 120 },
      tracesDir: 'traces',
      seed: -12,
      fault: 'B01',
    });
    const d = await runMain(['run', '--platform', 'smmuv3', '--topology', 'default', '--seed', '0x10'], { runner: fakeRunner(summary(0), seen) });
    expect(d.code).toBe(0);
    expect(seen[1]).toMatchObject({ platforms: ['smmuv3'], topology: { mode: 'default' }, budget: DEFAULT_BUDGET, seed: 16 });
  });

  test('A clean run prints the summary table and exits 0; a violation prints the trace path and exits 1', async () => {
    const clean = await runMain(['run'], { runner: fakeRunner(summary(0), []) });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe(`\
seed 7
platform  runs   steps  steps/s  distinct commands  transitions covered  sites failed  violations
--------  ----  ------  -------  -----------------  -------------------  ------------  ----------
vtd         10  12,345   24,690              16/${COMMAND_KINDS.length}                40/45         11/11           0
`);
    const found = await runMain(['run'], { runner: fakeRunner(summary(1), []) });
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('violation trace: traces/vtd-seed7-SVA001-0000abcd.json');
  });

  test('--fix NAME[,NAME] or all reaches the runner; an unknown name is one line and exit 2', async () => {
    const seen: RunOptions[] = [];
    const one = await runMain(['run', '--fix', 'vtd-drain-devtlb-absent,vtd-iopf-remove-nonpri'], { runner: fakeRunner(summary(0), seen) });
    expect(one.code).toBe(0);
    expect(seen[0]!.fixes).toEqual(['vtd-iopf-remove-nonpri', 'vtd-drain-devtlb-absent']);
    const all = await runMain(['run', '--fix', 'all'], { runner: fakeRunner(summary(0), seen) });
    expect(all.code).toBe(0);
    expect(seen[1]!.fixes).toEqual(FINDING_NAMES);
    const badName = await runMain(['run', '--fix', 'vtd-nope'], { runner: fakeRunner(summary(0), seen) });
    expect(badName).toMatchObject({ code: 2, errLines: [`sva-harness run: bad --fix 'vtd-nope': expected a known finding (${FINDING_NAMES.join(', ')}) or all`] });
    expect(seen).toHaveLength(2);
  });

  test('Known findings are listed after the table and leave the exit code at 0; another violation still exits 1', async () => {
    const withKnown = (violations: number): RunSummary => {
      const s = summary(violations);
      return { ...s, platforms: s.platforms.map((p) => ({ ...p, known: [{ finding: 'vtd-iopf-remove-nonpri' as const, runs: 1234 }] })) };
    };
    const clean = await runMain(['run'], { runner: fakeRunner(withKnown(0), []) });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('known finding vtd-iopf-remove-nonpri (vtd, 1,234 runs): SVA unbind from a device without PRI WARNs in intel_iommu_disable_iopf\n');
    const found = await runMain(['run'], { runner: fakeRunner(withKnown(1), []) });
    expect(found.code).toBe(1);
    expect(found.stdout).toContain('known finding vtd-iopf-remove-nonpri');
  });

  test('The progress bar is drawn only on a terminal and erased before the summary', async () => {
    const piped = await runMain(['run'], { runner: fakeRunner(summary(0), []) });
    expect(piped.stderr).toBe('');
    let tty = '';
    const onTty = await runMain(['run'], { runner: fakeRunner(summary(0), []) }, { write: (t: string) => (tty += t), columns: 120 });
    expect(onTty.code).toBe(0);
    expect(tty).toContain('vtd      [##########----------]   50%  run 5  6,000 steps  24,000 steps/s  0 violations');
    expect(tty.endsWith('\r\x1b[K')).toBe(true);
  });

  test('--fault takes a corpus id; anything else is one line and exit 2, before the runner is asked', async () => {
    const seen: RunOptions[] = [];
    const r = await runMain(['run', '--fault', 'skip-atc-inv'], { runner: fakeRunner(summary(0), seen) });
    expect(r).toMatchObject({ code: 2, errLines: ["sva-harness run: bad --fault 'skip-atc-inv': expected a fault id B01-B41"] });
    expect(seen).toEqual([]);
  });

  test('--fault narrows --platform both to the fault\'s platforms and refuses a platform it does not apply to', async () => {
    const seen: RunOptions[] = [];
    const narrowed = await runMain(['run', '--fault', 'B10'], { runner: fakeRunner(summary(0), seen) });
    expect(narrowed.code).toBe(0);
    expect(seen[0]).toMatchObject({ platforms: ['smmuv3'], fault: 'B10' });
    const refused = await runMain(['run', '--fault', 'B10', '--platform', 'vtd'], { runner: fakeRunner(summary(0), seen) });
    expect(refused).toMatchObject({ code: 2, errLines: ['sva-harness run: --fault B10 applies to smmuv3 only, not to --platform vtd'] });
    expect(seen).toHaveLength(1);
  });

  test('The summary names the fault the run had on', async () => {
    const r = await runMain(['run', '--fault', 'B07'], { runner: fakeRunner({ ...summary(0), fault: 'B07' }, []) });
    expect(r.stdout.split('\n')[0]).toBe('seed 7, fault B07: SVA domains get second-stage IOTLB flushes');
  });

  test('--config reads the options from a file; the command line overrides it; a bad file is one line and exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sva-run-config-'));
    try {
      const good = join(dir, 'run.json');
      writeFileSync(good, JSON.stringify({ platform: 'smmuv3', topology: 'default', seed: 5, runs: 20, fault: 'B01' }));
      const seen: RunOptions[] = [];
      const r = await runMain(['run', '--config', good, '--seed', '6'], { runner: fakeRunner(summary(0), seen) });
      expect(r.code).toBe(0);
      const { progress: _, ...opts } = seen[0]!;
      expect(opts).toEqual({ platforms: ['smmuv3'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 20 }, tracesDir: 'traces', seed: 6, fault: 'B01' });
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{"fault": "B77"}');
      const refused = await runMain(['run', '--config', bad], { runner: fakeRunner(summary(0), seen) });
      expect(refused).toMatchObject({ code: 2, errLines: [`sva-harness run: ${bad}: fault: expected a fault id B01-B41`] });
      const missing = await runMain(['run', '--config', join(dir, 'none.json')], { runner: fakeRunner(summary(0), seen) });
      expect(missing).toMatchObject({ code: 2, errLines: [`sva-harness run: ${join(dir, 'none.json')}: cannot read: no such file or directory`] });
      expect(seen).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('A runner error is one line and exit 2', async () => {
    const runner: HarnessRunner = { run: () => ({ ok: false, error: 'vtd: cannot write traces/x.json' }), replay: () => ({ ok: false, error: '' }) };
    const r = await runMain(['run'], { runner });
    expect(r).toMatchObject({ code: 2, errLines: ['sva-harness run: vtd: cannot write traces/x.json'] });
  });
});
