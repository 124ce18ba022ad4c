import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { driverFor, replayTrace } from '../../src/harness/index.js';
import { loadTrace } from '../../src/trace/index.js';
import { TEST_FAULTS } from './faults.js';

const DIR = new URL('../../regressions/', import.meta.url).pathname;
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('Saved regression traces', () => {
  test('The folder holds at least one trace', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    test(`${file} replays with its recorded outcome`, () => {
      const loaded = loadTrace(join(DIR, file));
      if (!loaded.ok) throw new Error(loaded.error);
      const trace = loaded.value;
      const inject = trace.fault === undefined ? undefined : TEST_FAULTS[trace.fault];
      if (trace.fault !== undefined) expect(inject, `unknown fault ${trace.fault}`).toBeDefined();
      const driver = inject?.(driverFor(trace.topology.platform));
      const r = replayTrace(trace, driver === undefined ? {} : { driver });
      if (!r.ok) throw new Error(r.error);
      const now = r.value.trace.violation;
      expect(now === undefined ? undefined : { invariant: now.invariant, step: now.step })
        .toEqual(trace.violation === undefined ? undefined : { invariant: trace.violation.invariant, step: trace.violation.step });
      // The observations recorded then are the observations now.
      expect(r.value.trace.steps.map((s) => [s.expected, s.actual])).toEqual(trace.steps.map((s) => [s.expected, s.actual]));
      if (inject !== undefined) {
        // Without the injected bug the same commands run clean.
        const fixed = replayTrace(trace);
        expect(fixed.ok && fixed.value.trace.violation).toBeUndefined();
      }
    });
  }
});
