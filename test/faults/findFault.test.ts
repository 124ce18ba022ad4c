import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEFAULT_FIND_RUNS, findFault, harnessRunner, replayOptions } from '../../models/index.js';
import { driverFor, replayTrace } from '../../src/harness/index.js';
import { withoutSecondaryTlbFlush } from '../models/brokenDriver.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-find-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('findFault', () => {
  test('A found bug reports the invariant, the runs and time to the first failure, the shrunk trace with its fault', () => {
    // A fault the impl does not hold yet, plus a broken driver, so the search has something to find.
    const f = findFault('B07', { platform: 'vtd', topology: 'default', seed: 3, runs: 200, driver: withoutSecondaryTlbFlush(driverFor('vtd')) });
    expect(f).toMatchObject({ fault: 'B07', platform: 'vtd', seed: 3, found: true });
    expect(f.error).toBeUndefined();
    expect(f.invariant).toBe(f.trace?.violation?.invariant);
    expect(f.firstInvariant).toMatch(/^[A-Z]/);
    expect(f.runsToFailure).toBe(f.runs);
    expect(f.runs).toBeGreaterThanOrEqual(1);
    expect(f.runs).toBeLessThanOrEqual(200);
    expect(f.shrunkLength).toBe(f.trace?.commands.length);
    expect(f.msToFailure! + f.shrinkMs!).toBeCloseTo(f.elapsedMs, 6);
    expect(f.shrinkMs).toBeGreaterThanOrEqual(0);
    expect(f.trace?.fault).toBe('B07');
    // The trace replays with the options it names (the world gets B07 back).
    const opts = replayOptions(f.trace!);
    expect(opts).toEqual({ ok: true, value: { fault: 'B07' } });
  });

  test('The same fault, platform, seed and budget give the same counterexample, which replays', () => {
    const driver = withoutSecondaryTlbFlush(driverFor('smmuv3'));
    const a = findFault('B01', { platform: 'smmuv3', topology: 'default', seed: 11, runs: 100, driver });
    const b = findFault('B01', { platform: 'smmuv3', topology: 'default', seed: 11, runs: 100, driver });
    expect(a.found).toBe(true);
    expect(b.trace).toEqual(a.trace);
    expect(b.runsToFailure).toBe(a.runsToFailure);
    const replayed = replayTrace(a.trace!, { fault: 'B01', driver });
    expect(replayed.ok && replayed.value.trace.violation).toEqual(a.trace!.violation);
  });

  test('findFault and `sva-harness run` agree; with nothing to find the whole budget is spent', () => {
    const f = findFault(undefined, { platform: 'smmuv3', topology: 'default', seed: 5, runs: 30 });
    const cli = harnessRunner.run({ platforms: ['smmuv3'], topology: { mode: 'default' }, seed: 5, budget: { kind: 'runs', runs: 30 }, tracesDir: dir });
    // Whatever the impl does today, findFault and `sva-harness run` agree.
    expect(cli.ok && cli.value.platforms[0]!.violations).toBe(f.found ? 1 : 0);
    if (!f.found) {
      expect(f).toMatchObject({ fault: undefined, found: false, expected: false, runs: 30 });
      expect(f.trace).toBeUndefined();
      expect(f.runsToFailure).toBeUndefined();
    }
  });

  test('Defaults: the fault\'s first platform, DEFAULT_FIND_RUNS, and a refusal for a platform the fault skips', () => {
    expect(DEFAULT_FIND_RUNS).toBeGreaterThan(0);
    expect(findFault('B11', { runs: 1 }).platform).toBe('smmuv3');
    expect(() => findFault('B11', { platform: 'vtd', runs: 1 })).toThrow('findFault: fault B11 applies to smmuv3, not vtd');
  });
});
