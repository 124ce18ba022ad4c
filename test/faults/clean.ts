/**
 * The correct impl under the fault tests' budget. Most fault tests search seeds 1-5 with at most
 * 200 runs each (B06, B31, B41, B50, B51, B60 and B61 search 300-1000): with no fault on, the
 * same budget finds nothing, so every fault those tests report is the fault's and not the
 * harness's.
 * One file per platform (clean.<platform>.test.ts), so the three run on different workers;
 * clean.test.ts checks that every platform has one.
 */
import { expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import type { Platform } from '../../src/shared/index.js';
import { reportCounterexample } from '../setup/counterexamples.js';

export const cleanUnderFaultBudget = (platform: Platform): void => {
  test.each([1, 2, 3, 4, 5])(`${platform} passes the fault tests' budget on seed %i: 200 runs, no violation`, (seed) => {
    const f = findFault(undefined, { platform, seed, runs: 200 });
    expect(f.error).toBeUndefined();
    if (f.trace?.violation !== undefined) reportCounterexample(f.trace);
    expect(f).toMatchObject({ found: false, runs: 200 });
  });
};
