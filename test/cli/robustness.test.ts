/**
 * The CLI as a user and a CI system meet it, through the real entry point in a child process:
 * inputs that used to hang or grow memory without bound, paths that used to hang or lose a
 * finding, a step that never returns, signals mid-run, a write killed half-way. Every child
 * is bounded in time and killed if still alive; every folder is removed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { loadTrace } from '../../src/trace/index.js';

const bin = fileURLToPath(new URL('../../bin/sva-harness.mjs', import.meta.url));
const looping = fileURLToPath(new URL('../fixtures/sva-harness-looping.mjs', import.meta.url));
const killedWriter = fileURLToPath(new URL('../fixtures/killedWriter.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sva-robust-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `d${n++}`);

/** Bounded: an old hang shows as a killed child (status null), never as a hung suite. */
const sh = (args: string[], opts: { entry?: string; env?: Record<string, string>; timeout?: number } = {}) =>
  spawnSync(process.execPath, [opts.entry ?? bin, ...args], {
    encoding: 'utf8', timeout: opts.timeout ?? 30_000, cwd: dir, env: { ...process.env, ...opts.env },
  });

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

const start = (args: string[], opts: { entry?: string; env?: Record<string, string> } = {}) => {
  const started = performance.now();
  const child = spawn(process.execPath, [opts.entry ?? bin, ...args], { cwd: dir, env: { ...process.env, ...opts.env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Finished>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started })));
  return { child, done };
};

const until = async (what: () => boolean, ms: number): Promise<void> => {
  const end = performance.now() + ms;
  while (!what()) {
    if (performance.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('Inputs never hang and never grow memory', () => {
  test('show and replay of a FIFO with no writer are refused at once, not waited on', () => {
    const fifo = join(dir, 'pipe.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = sh(['show', fifo], { timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`sva-harness show: ${fifo}: is a named pipe (FIFO), not a trace file\n`);
    const replay = sh(['replay', fifo], { timeout: 20_000 });
    expect(replay.status).toBe(2);
    expect(replay.stderr).toBe(`sva-harness replay: ${fifo}: is a named pipe (FIFO), not a trace file\n`);
  });

  test('replay /dev/zero and run --config /dev/zero are one line each (they used to read until memory ran out)', () => {
    const a = sh(['replay', '/dev/zero'], { timeout: 20_000 });
    expect(a.status).toBe(2);
    expect(a.stderr).toBe('sva-harness replay: /dev/zero: is a character device, not a trace file\n');
    const b = sh(['run', '--config', '/dev/zero'], { timeout: 20_000 });
    expect(b.status).toBe(2);
    expect(b.stderr).toBe('sva-harness run: /dev/zero: is a character device, not a run config file\n');
  });
});

describe('Output paths are checked before the search', () => {
  test('run --traces /proc/nope fails at once (recursive mkdir used to loop there)', () => {
    const r = sh(['run', '--runs', '1', '--traces', '/proc/nope'], { timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('sva-harness run: --traces /proc/nope: cannot create the folder: no such file or directory\n');
  });

  test('run --traces naming a file is refused before any run, so no finding can be lost', () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const r = sh(['run', '--fault', 'B01', '--traces', file], { timeout: 20_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`sva-harness run: --traces ${file}: is a file, not a folder\n`);
  });

  test('A temp file left by a writer killed mid-write is removed by the next run, and reported', async () => {
    const traces = fresh();
    const w = spawn(process.execPath, ['--import', 'tsx', killedWriter, traces], { cwd: process.cwd() });
    children.push(w);
    let temp = '';
    w.stdout.on('data', (d: Buffer) => (temp += d.toString()));
    // killedWriter makes no folder: it writes into an existing one.
    const { mkdirSync } = await import('node:fs');
    mkdirSync(traces);
    await until(() => temp.endsWith('\n'), 20_000);
    w.kill('SIGKILL');
    await new Promise((r) => w.on('close', r));
    const path = temp.trim();
    expect(existsSync(path)).toBe(true);
    const r = sh(['run', '--runs', '1', '--platform', 'vtd', '--traces', traces]);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(`sva-harness run: ${path}: removed the temp file of an interrupted write (pid ${w.pid})`);
    expect(existsSync(path)).toBe(false);
  });
});

describe('A step that never returns', () => {
  test('run --time 5s ends within 6 s, with an I-LOCKUP violation and its trace, exit 1', async () => {
    const traces = fresh();
    const r = await start(['run', '--time', '5s', '--traces', traces], { entry: looping, env: { SVA_TEST_FAULT: 'test:step-never-returns' } }).done;
    expect(r.ms).toBeLessThan(6000);
    expect(r.code).toBe(1);
    const paths = [...r.stdout.matchAll(/^violation trace: (\S+)/gm)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(0);
    for (const p of paths) {
      const t = loadTrace(p);
      if (!t.ok) throw new Error(t.error);
      expect(t.value.violation?.invariant).toBe('I-LOCKUP');
      // The step that never returned ends the trace and its message names it: the looping bind,
      // alone or among a concurrent group's members.
      expect(t.value.violation?.message).toMatch(/soft lockup: (.* \| )?bind\(d\d+,mm\d+\)( \| .*)? did not return/);
    }
    expect(r.stderr).toMatch(/watchdog: step #\d+ did not return within [\d.]+ s of wall time \(soft lockup\)/);
  }, 30_000);

  test('Without a time budget, the step timeout alone ends it; the trace keeps the run\'s fixes', async () => {
    const traces = fresh();
    const r = await start(['run', '--runs', '100', '--platform', 'smmuv3', '--step-timeout', '1s', '--fix', 'smmuv3-detach-no-iopf-flush', '--traces', traces],
      { entry: looping, env: { SVA_TEST_FAULT: 'test:step-never-returns' } }).done;
    expect(r.code).toBe(1);
    const hung = readdirSync(traces).filter((f) => f.includes('I-LOCKUP'));
    expect(hung).toHaveLength(1);
    const t = loadTrace(join(traces, hung[0]!));
    if (!t.ok) throw new Error(t.error);
    expect(t.value.fixes).toEqual(['smmuv3-detach-no-iopf-flush']);
  }, 30_000);
});

describe('Signals stop the search cleanly', () => {
  test('SIGINT mid-run: the partial summary with seed, runs, steps and the trace already written; exit 130', async () => {
    const traces = fresh();
    const run = start(['run', '--time', '120s', '--traces', traces],
      { entry: looping, env: { SVA_TEST_FAULT: 'test:endless-hw-loop', SVA_TEST_FAULT_ON: 'vtd' } });
    // vtd finds its lockup at once; smmuv3 is searching when the signal comes.
    await until(() => existsSync(traces) && readdirSync(traces).some((f) => f.endsWith('.json')), 60_000);
    await new Promise((r) => setTimeout(r, 700));
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(r.stdout).toMatch(/^run stopped \(SIGINT\): partial results\nseed 1729\n/);
    const trace = readdirSync(traces).find((f) => f.endsWith('.json'))!;
    expect(r.stdout).toContain(`violation trace: ${join(traces, trace)}`);
    const smmu = /^smmuv3\s+(\d[\d,]*)\s+(\d[\d,]*)/m.exec(r.stdout);
    expect(smmu).not.toBeNull();
    expect(Number(smmu![2]!.replace(/,/g, ''))).toBeGreaterThan(0);
  }, 90_000);

  test('SIGTERM: the same, exit 143', async () => {
    const traces = fresh();
    const run = start(['run', '--time', '120s', '--traces', traces, '--json'],
      { entry: looping, env: { SVA_TEST_FAULT: 'test:endless-hw-loop', SVA_TEST_FAULT_ON: 'vtd' } });
    // As above: the first trace proves the handlers are installed and a search is running (a
    // fixed sleep raced the process start on a loaded machine).
    await until(() => existsSync(traces) && readdirSync(traces).some((f) => f.endsWith('.json')), 60_000);
    await new Promise((r) => setTimeout(r, 700));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(143);
    const report = JSON.parse(r.stdout) as { stopped: string; seed: number; exitCode: number; platforms: { platform: string; runs: number; stopped: string }[] };
    expect(report).toMatchObject({ stopped: 'SIGTERM', seed: 1729, exitCode: 143 });
    expect(report.platforms.find((p) => p.platform === 'smmuv3')?.stopped).toBe('SIGTERM');
  }, 60_000);
});
