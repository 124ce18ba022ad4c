import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { replayTrace } from '../../src/harness/index.js';
import { isFaultId } from '../../src/shared/index.js';
import { loadTrace } from '../../src/trace/index.js';

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
      // A recorded fault must be one of the corpus's (B01-B18): switched on in the ported kernel.
      const fault = trace.fault;
      if (fault !== undefined && !isFaultId(fault)) throw new Error(`${file}: unknown fault ${fault}`);
      const r = replayTrace(trace, fault === undefined ? {} : { fault });
      if (!r.ok) throw new Error(r.error);
      const now = r.value.trace.violation;
      expect(now === undefined ? undefined : { invariant: now.invariant, step: now.step })
        .toEqual(trace.violation === undefined ? undefined : { invariant: trace.violation.invariant, step: trace.violation.step });
      // The observations recorded then are the observations now.
      expect(r.value.trace.steps.map((s) => [s.expected, s.actual])).toEqual(trace.steps.map((s) => [s.expected, s.actual]));
      if (fault !== undefined) {
        // Without the bug the same commands run clean (the fault is switched on only through the options).
        const fixed = replayTrace(trace);
        expect(fixed.ok && fixed.value.trace.violation).toBeUndefined();
      }
    });
  }
});
