/**
 * One broken rule, one failing test, one trace for CI to upload. A search-based test that
 * finds a counterexample writes its trace under test-results/traces/ (named by platform,
 * invariant and the trace's dedup key) and claims the invariant: the first test to claim it
 * fails with the trace path and the replay command; any later test that breaks the same
 * invariant is reported as skipped, naming the trace and the test that owns the failure, so a
 * patch that breaks one rule does not fail every suite with the same cause. The global setup
 * empties the folder at the start of each `vitest run`, so it holds only this run's findings.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TestRunner, expect } from 'vitest';
import { counterexampleKey, writeTrace } from '../../src/trace/index.js';
import type { Trace } from '../../src/trace/index.js';

/** SVA_TEST_TRACES moves it (the test of this mechanism runs vitest in a child on its own folder). */
export const TEST_TRACES_DIR = process.env['SVA_TEST_TRACES'] ?? 'test-results/traces';

/** Claims `invariant` for `owner` in `dir`; says who owns it when another test came first. */
export const claimInvariant = (dir: string, invariant: string, owner: string): { readonly first: true } | { readonly first: false; readonly owner: string } => {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `.claim-${invariant.replace(/[^A-Za-z0-9_-]+/g, '_')}`);
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, owner);
    closeSync(fd);
    return { first: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { first: false, owner: readFileSync(file, 'utf8') };
  }
};

/** Writes the trace under TEST_TRACES_DIR; returns its path. */
export const saveTestTrace = (trace: Trace, dir = TEST_TRACES_DIR): string => {
  const name = `${trace.topology.platform}-${(trace.violation?.invariant ?? 'pass').replace(/[^A-Za-z0-9_-]+/g, '_')}-${counterexampleKey(trace)}.json`;
  const w = writeTrace(join(dir, name), trace);
  if (!w.ok) throw new Error(w.error);
  return w.value;
};

/** Call from a test whose search found `trace`: fails the test, or skips it as a duplicate. */
export const reportCounterexample = (trace: Trace): never => {
  const v = trace.violation;
  const path = saveTestTrace(trace);
  const test = TestRunner.getCurrentTest();
  const owner = test === undefined ? 'unknown test' : `${test.file?.name ?? ''} > ${test.name}`;
  const claim = claimInvariant(TEST_TRACES_DIR, v?.invariant ?? 'violation', owner);
  if (!claim.first && test !== undefined) {
    test.context.skip(`${v?.invariant} again (trace ${path}); the failure is reported by ${claim.owner}`);
  }
  return expect.fail(`${v?.invariant ?? 'violation'} at step #${v?.step ?? '?'}: ${v?.message ?? ''}\n` +
    `  trace: ${path}\n  replay: npx sva-harness replay ${path}`);
};

/** vitest globalSetup: this run's findings only. */
export default function setup(): void {
  rmSync(TEST_TRACES_DIR, { recursive: true, force: true });
}
