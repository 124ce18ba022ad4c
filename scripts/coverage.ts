/**
 * Branch coverage of the ported kernel code and the emulated hardware (src/impl + src/hw) from
 * a fixed-budget run: `npm run coverage [-- RUN OPTIONS]` runs `sva-harness run` (default: the
 * default budget, seed 1729, every platform; a 60 s step timeout unless given) under c8 (V8
 * coverage, mapped back to the TypeScript sources through tsx's source maps), then prints branch, function and line
 * coverage and every function the run never entered. Not part of `npm test`: coverage is a
 * figure about the generators, not a pass/fail check.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

interface Loc { readonly start: { readonly line: number } }
interface FileCoverage {
  readonly path: string;
  readonly fnMap: Record<string, { readonly name: string; readonly decl: Loc }>;
  readonly f: Record<string, number>;
  readonly branchMap: Record<string, { readonly locations: readonly Loc[] }>;
  readonly b: Record<string, readonly number[]>;
  readonly s: Record<string, number>;
}

const root = process.cwd();
const args = process.argv.slice(2);
// c8's instrumentation makes a step several times slower; on a loaded machine a grouped VT-d
// step once passed run's wall-clock watchdog (1 s then, 10 s now): the run reported a false
// I-LOCKUP and stopped that platform early, and the figure covered fewer runs than the default run makes.
const STEP_TIMEOUT = ['--step-timeout', '60s'];
const runArgs = [...(args.length > 0 ? args : ['--seed', '1729']), ...(args.includes('--step-timeout') ? [] : STEP_TIMEOUT)];
const dir = mkdtempSync(join(tmpdir(), 'sva-coverage-'));
try {
  const r = spawnSync('npx', [
    'c8', '--include', 'src/impl/**', '--include', 'src/hw/**', '--reporter', 'json', '--report-dir', dir,
    '--temp-directory', join(dir, 'tmp'), 'node', 'bin/sva-harness.mjs', 'run', ...runArgs,
  ], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  process.stdout.write(r.stdout);
  if (r.status !== 0 && r.status !== 1) {
    console.error(`coverage: the run exited with ${r.status}`);
    process.exit(70);
  }
  const files = Object.values(JSON.parse(readFileSync(join(dir, 'coverage-final.json'), 'utf8')) as Record<string, FileCoverage>)
    .sort((a, b) => a.path.localeCompare(b.path));
  let branches = 0, taken = 0, fns = 0, fnsHit = 0, stmts = 0, stmtsHit = 0;
  const uncovered: string[] = [];
  const missedBranches: [string, number][] = [];
  for (const file of files) {
    let missed = 0;
    for (const counts of Object.values(file.b)) {
      branches += counts.length;
      taken += counts.filter((n) => n > 0).length;
      missed += counts.filter((n) => n === 0).length;
    }
    if (missed > 0) missedBranches.push([relative(root, file.path), missed]);
    for (const n of Object.values(file.s)) {
      stmts++;
      if (n > 0) stmtsHit++;
    }
    for (const [id, fn] of Object.entries(file.fnMap)) {
      fns++;
      if ((file.f[id] ?? 0) > 0) fnsHit++;
      else uncovered.push(`  ${relative(root, file.path)}:${fn.decl.start.line} ${fn.name}`);
    }
  }
  const pct = (a: number, b: number): string => (b === 0 ? '-' : `${((100 * a) / b).toFixed(2)}%`);
  console.log(`\nsrc/impl + src/hw (${files.length} files), run ${runArgs.join(' ')}:`);
  console.log(`  branches   ${pct(taken, branches)} (${taken}/${branches})`);
  console.log(`  functions  ${pct(fnsHit, fns)} (${fnsHit}/${fns})`);
  console.log(`  statements ${pct(stmtsHit, stmts)} (${stmtsHit}/${stmts})`);
  console.log('branches never taken, by file (most first):');
  for (const [f, n] of missedBranches.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) console.log(`  ${String(n).padStart(4)} ${f}`);
  console.log(`functions never entered (${uncovered.length}):`);
  for (const u of uncovered) console.log(u);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
