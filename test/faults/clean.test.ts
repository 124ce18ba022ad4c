import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { PLATFORMS } from '../../src/shared/index.js';
import { reportCounterexample } from '../setup/counterexamples.js';

// The fault tests search seeds 1-5 with at most 200 runs each: with no fault on, the same
// budget finds nothing, so every fault the tests report is the fault's and not the harness's.
describe.each(PLATFORMS)('The correct impl on %s', (platform) => {
  test.each([1, 2, 3, 4, 5])('passes the fault tests\' budget on seed %i: 200 runs, no violation', (seed) => {
    const f = findFault(undefined, { platform, seed, runs: 200 });
    expect(f.error).toBeUndefined();
    if (f.trace?.violation !== undefined) reportCounterexample(f.trace);
    expect(f).toMatchObject({ found: false, runs: 200 });
  });
});
