import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { replayTrace, runSequence } from '../../src/harness/index.js';
import { FINDINGS, isFaultId, isFindingName } from '../../src/shared/index.js';
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
      // A recorded fault must be one of the corpus's (FAULT_IDS): switched on in the ported kernel.
      const fault = trace.fault;
      if (fault !== undefined && !isFaultId(fault)) throw new Error(`${file}: unknown fault ${fault}`);
      // Recorded with proposed fixes switched on (run --fix): replayed with them, as `replay` does.
      const names = trace.fixes ?? [];
      const unknown = names.find((f) => !isFindingName(f));
      if (unknown !== undefined) throw new Error(`${file}: unknown fix ${unknown}`);
      const fixes = names.length === 0 ? {} : { fixes: names.filter(isFindingName) };
      const r = replayTrace(trace, fault === undefined ? fixes : { ...fixes, fault });
      if (!r.ok) throw new Error(r.error);
      const now = r.value.trace.violation;
      expect(now === undefined ? undefined : { invariant: now.invariant, step: now.step })
        .toEqual(trace.violation === undefined ? undefined : { invariant: trace.violation.invariant, step: trace.violation.step });
      // The observations recorded then are the observations now.
      expect(r.value.trace.steps.map((s) => [s.expected, s.actual])).toEqual(trace.steps.map((s) => [s.expected, s.actual]));
      if (fault !== undefined) {
        // Without the bug the same commands run clean (the fault is switched on only through the options).
        const fixed = replayTrace(trace, fixes);
        expect(fixed.ok && fixed.value.trace.violation).toBeUndefined();
      }
    });
  }
});

const UPSTREAM = new URL('../../regressions/upstream/', import.meta.url).pathname;
const upstream = readdirSync(UPSTREAM).filter((f) => f.endsWith('.json')).sort();

describe('Known upstream findings (regressions/upstream/<finding>.json)', () => {
  test('Every finding has its trace, and every trace names a finding', () => {
    expect(upstream).toEqual(FINDINGS.map((f) => `${f.name}.json`).sort());
    for (const f of FINDINGS) expect(f.trace).toBe(`regressions/upstream/${f.name}.json`);
  });

  for (const file of upstream) {
    const name = file.replace(/\.json$/, '');
    test(`${file}: a violation on mainline when replayed strictly, known otherwise, clean with --fix ${name}`, () => {
      if (!isFindingName(name)) throw new Error(`${file}: not a finding`);
      const loaded = loadTrace(join(UPSTREAM, file));
      if (!loaded.ok) throw new Error(loaded.error);
      const trace = loaded.value;
      expect(trace.violation).toBeDefined();
      const strict = replayTrace(trace, { strict: true });
      if (!strict.ok) throw new Error(strict.error);
      const now = strict.value.trace.violation;
      expect(now && { invariant: now.invariant, step: now.step }).toEqual({ invariant: trace.violation!.invariant, step: trace.violation!.step });
      expect(strict.value.trace.steps.map((s) => [s.expected, s.actual])).toEqual(trace.steps.map((s) => [s.expected, s.actual]));
      // Run as the suites and `run` do: reported as this finding, not as a failure.
      const groups = trace.groups === undefined ? {} : { groups: trace.groups };
      const known = runSequence(trace.topology, trace.commands, groups);
      if (!known.ok) throw new Error(known.error);
      expect(known.value.session.violation).toBeUndefined();
      expect(known.value.session.known.map((k) => k.finding)).toContain(name);
      // A persistent finding may explain the violation at a later step than the one it was met in.
      expect(known.value.session.known.filter((k) => k.finding === name).flatMap((k) => k.invariants)).toContain(trace.violation!.invariant);
      // With the proposed fix the same commands run clean, strictly.
      const fixed = runSequence(trace.topology, trace.commands, { strict: true, fixes: [name], ...groups });
      if (!fixed.ok) throw new Error(fixed.error);
      expect(fixed.value.session.violation).toBeUndefined();
      expect(fixed.value.session.known).toEqual([]);
    });
  }
});
