import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { HarnessRunner, Progress, RunOptions, RunSummary } from '../../../src/harness/index.js';
import { runMain } from '../captureIo.js';
import { DEFAULT_BUDGET, DEFAULT_GROUPS } from '../../../src/cli/runOptions.js';
import { COMMAND_KINDS, FINDING_NAMES, failSitesOf } from '../../../src/shared/index.js';

const summary = (violations: number): RunSummary => ({
  seed: 7,
  platforms: [{ platform: 'vtd', runs: 10, steps: 12345, distinctCommands: 16, transitionsCovered: 40, transitionsTotal: 45, violations, known: [], iopf: { multiGroups: 3, overflows: 2, drainsWithQueued: 1, noHandler: 4, disablesWithoutPri: 5 }, elapsedMs: 500, sitesFailed: failSitesOf('vtd'), sitesTotal: failSitesOf('vtd').length }],
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
      platforms: ['vtd', 'smmuv3', 'amd'],
      topology: { mode: 'random', pages: 8, ptLevels: 5 },
      budget: { kind: 'time', seconds: 120 },
      tracesDir: 'traces',
      seed: -12,
      fault: 'B01',
      concurrency: { groupRate: DEFAULT_GROUPS, scheduler: 'mix' },
    });
    const d = await runMain(['run', '--platform', 'smmuv3', '--topology', 'default', '--seed', '0x10'], { runner: fakeRunner(summary(0), seen) });
    expect(d.code).toBe(0);
    expect(seen[1]).toMatchObject({ platforms: ['smmuv3'], topology: { mode: 'default' }, budget: DEFAULT_BUDGET, seed: 16 });
  });

  test('A count the platform does not have prints n/a, not 0 (shared/pri.ts IOPF_COUNT_APPLIES)', async () => {
    const base = summary(0);
    const iopf = { multiGroups: 0, overflows: 7, drainsWithQueued: 0, noHandler: 0, disablesWithoutPri: 9 };
    const s: RunSummary = { ...base, platforms: [{ ...base.platforms[0]!, platform: 'smmuv3', iopf, sitesFailed: failSitesOf('smmuv3'), sitesTotal: failSitesOf('smmuv3').length }] };
    const r = await runMain(['run'], { runner: fakeRunner(s, []) });
    expect(r.stdout).toContain('iopf smmuv3: multi-request groups n/a, overflows 7, drains with requests queued n/a, no-handler requests n/a, IOPF disables without PRI 9\n');
  });

  test('A clean run prints the summary table and exits 0; a violation prints the trace path and exits 1', async () => {
    const clean = await runMain(['run'], { runner: fakeRunner(summary(0), []) });
    expect(clean.code).toBe(0);
    expect(clean.stdout).toBe(`\
seed 7
platform  runs   steps  steps/s  distinct commands  transitions covered  sites failed  violations
--------  ----  ------  -------  -----------------  -------------------  ------------  ----------
vtd         10  12,345   24,690              16/${COMMAND_KINDS.length}                40/45         15/15           0
iopf vtd: multi-request groups 3, overflows 2, drains with requests queued 1, no-handler requests 4, IOPF disables without PRI 5
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
    expect(r).toMatchObject({ code: 2, errLines: ["sva-harness run: bad --fault 'skip-atc-inv': expected a fault id B01-B19, B30-B31, B40-B41, B50-B53, B60-B61, R01-R05"] });
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
      expect(opts).toEqual({ platforms: ['smmuv3'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 20 }, tracesDir: 'traces', seed: 6, fault: 'B01', concurrency: { groupRate: DEFAULT_GROUPS, scheduler: 'mix' } });
      const bad = join(dir, 'bad.json');
      writeFileSync(bad, '{"fault": "B77"}');
      const refused = await runMain(['run', '--config', bad], { runner: fakeRunner(summary(0), seen) });
      expect(refused).toMatchObject({ code: 2, errLines: [`sva-harness run: ${bad}: fault: expected a fault id B01-B19, B30-B31, B40-B41, B50-B53, B60-B61, R01-R05`] });
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

describe('run: machine-readable output, slices, and a supervised run', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'sva-run-out-'));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  test('--json prints one document: seed, budget, slice, topology mode, per-platform counts and coverage, traces', async () => {
    const seen: RunOptions[] = [];
    const r = await runMain(['run', '--json', '--slice', '2/4', '--runs', '40', '--traces', join(outDir, 'json-traces')], { runner: fakeRunner(summary(1), seen) });
    expect(r.code).toBe(1);
    expect(seen[0]?.slice).toEqual({ index: 2, count: 4 });
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({
      reportVersion: 1, seed: 7, slice: { index: 2, count: 4 }, budget: { kind: 'runs', runs: 40 }, topology: { mode: 'random' },
      fault: null, stopped: null, exitCode: 1,
      platforms: [{ platform: 'vtd', runs: 10, steps: 12345, distinctCommands: 16, commandKinds: COMMAND_KINDS.length, transitionsCovered: 40, transitionsTotal: 45, violations: 1 }],
      // The fake trace path does not exist: reported, with what could not be read as null.
      traces: [{ path: 'traces/vtd-seed7-SVA001-0000abcd.json', key: null }],
    });
  });

  test('--junit FILE writes a JUnit report: a test case per platform, a failure per violation naming its trace', async () => {
    const file = join(outDir, 'junit.xml');
    const r = await runMain(['run', '--junit', file, '--traces', join(outDir, 'junit-traces')], { runner: fakeRunner(summary(1), []) });
    expect(r.code).toBe(1);
    const xml = readFileSync(file, 'utf8');
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="sva-harness" tests="1" failures="1"/);
    expect(xml).toContain('<testcase classname="sva-harness.run.vtd" name="vtd: seed 7, random topology, 667 runs" time="0.500">');
    expect(xml).toContain('<failure type="violation"');
    const clean = await runMain(['run', '--junit', file, '--traces', join(outDir, 'junit-traces')], { runner: fakeRunner(summary(0), []) });
    expect(clean.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('failures="0"');
  });

  test('A trace that could be written nowhere is printed whole on stdout; the run still exits 1', async () => {
    const { sampleTrace } = await import('../../trace/sampleTrace.js');
    const { serializeTrace } = await import('../../../src/trace/index.js');
    const lost: RunSummary = { ...summary(1), traces: [], notes: ['vtd: traces/x.json: cannot write: no space left on device; the fallback failed too'], unwritten: [sampleTrace()] };
    const r = await runMain(['run', '--traces', join(outDir, 'lost')], { runner: fakeRunner(lost, []) });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`violation trace (not saved):\n${serializeTrace(sampleTrace())}`);
    expect(r.errLines).toEqual(['sva-harness run: vtd: traces/x.json: cannot write: no space left on device; the fallback failed too']);
    const json = await runMain(['run', '--json', '--traces', join(outDir, 'lost')], { runner: fakeRunner(lost, []) });
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { unwritten: unknown[] }).unwritten).toEqual([sampleTrace()]);
  });

  test('Bad --slice, --junit and --step-timeout values are one line and exit 2, before the search', async () => {
    const seen: RunOptions[] = [];
    const runner = fakeRunner(summary(0), seen);
    for (const [argv, message] of [
      [['--slice', '0/4'], "bad --slice '0/4': expected I/N with 1 <= I <= N <= 10000, e.g. 2/4"],
      [['--slice', '5/4'], "bad --slice '5/4'"],
      [['--slice', 'half'], "bad --slice 'half'"],
      [['--junit', outDir], `--junit ${outDir}: is a folder, not a file`],
      [['--junit', join(outDir, 'no', 'such', 'r.xml')], `--junit ${join(outDir, 'no', 'such', 'r.xml')}: the folder ${join(outDir, 'no', 'such')} does not exist`],
      [['--step-timeout', '0'], "bad --step-timeout '0'"],
    ] as const) {
      const r = await runMain(['run', ...argv], { runner });
      expect(r.code).toBe(2);
      expect(r.errLines).toHaveLength(1);
      expect(r.errLines[0]).toContain(message);
    }
    expect(seen).toEqual([]);
  });

  test('A search thread that dies is an internal error (exit 70, one line); a module without a runner is bad input', async () => {
    const dead = await runMain(['run', '--platform', 'vtd', '--traces', join(outDir, 'dead')],
      { runner: fakeRunner(summary(0), []), runnerModule: 'data:text/javascript,throw new Error("boom")' });
    expect(dead.code).toBe(70);
    expect(dead.errLines).toEqual(['sva-harness: internal error: Error: vtd: the search thread failed: Error: boom']);
    const empty = await runMain(['run', '--platform', 'vtd', '--traces', join(outDir, 'empty')],
      { runner: fakeRunner(summary(0), []), runnerModule: 'data:text/javascript,export const x = 1;' });
    expect(empty.code).toBe(2);
    expect(empty.errLines).toEqual(['sva-harness run: data:text/javascript,export const x = 1; exports no harnessRunner']);
  }, 30_000);

  test('A supervised run stopped by SIGINT erases the progress bar, prints the partial summary and exits 130', async () => {
    const { harnessRunner } = await import('../../../models/index.js');
    let stdout = '';
    let tty = '';
    let fire: ((s: 'SIGINT' | 'SIGTERM') => void) | undefined;
    let unsubscribed = false;
    const io = {
      out: (t: string) => void (stdout += t), err: () => {}, now: () => performance.now(),
      tty: { write: (t: string) => (tty += t), columns: 120 },
      onSignal: (h: (s: 'SIGINT' | 'SIGTERM') => void) => {
        fire = h;
        return () => void (unsubscribed = true);
      },
    };
    const { main } = await import('../../../src/cli/main.js');
    // A runs budget far beyond the signal: a --time budget counts from the start of the thread
    // (performance.timeOrigin), which in-process is the test worker's, already minutes old.
    const code = main(['run', '--runs', '1000000', '--platform', 'vtd', '--traces', join(outDir, 'sigint')], io,
      { runner: harnessRunner, runnerModule: new URL('../../../models/index.ts', import.meta.url).href });
    // Signal once the search is drawing progress.
    const end = performance.now() + 30_000;
    while (!tty.includes('steps/s') && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
    fire!('SIGINT');
    expect(await code).toBe(130);
    expect(unsubscribed).toBe(true);
    expect(tty.endsWith('\r\x1b[K')).toBe(true);
    expect(stdout).toMatch(/^run stopped \(SIGINT\): partial results\nseed 1729\n/);
    expect(/^vtd\s+(\d+)/m.exec(stdout)?.[1]).not.toBe('0');
  }, 60_000);
});
