/**
 * Totals across the model suites. Suites run in several workers, so each suite appends
 * one line (`name steps`) to a file named by the run; the global teardown sums them and prints
 * the one line CI logs are read for. The file lives under the OS temp dir, never in the repo.
 */
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ENV = 'SVA_STEP_TOTALS';

/** Called by a suite in a worker: record its checked steps. */
export const recordSuiteSteps = (name: string, steps: number): void => {
  const file = process.env[ENV];
  if (file !== undefined) appendFileSync(file, `${name}\t${steps}\n`);
};

/** vitest globalSetup: create the file before the workers start, print the total after. */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'sva-steps-'));
  const file = join(dir, 'totals.tsv');
  process.env[ENV] = file;
  return () => {
    let lines: string[] = [];
    try {
      lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
    } catch {
      // No model suite ran (a filtered run): nothing to total.
    }
    const total = lines.reduce((sum, l) => sum + Number(l.split('\t')[1]), 0);
    if (lines.length > 0) console.log(`[models] total: ${total} checked steps in ${lines.length} suites`);
    rmSync(dir, { recursive: true, force: true });
  };
}
