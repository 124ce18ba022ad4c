import { describe, expect, test } from 'vitest';
import { CHUNK_RUNS, searchForViolation, topologyFor } from '../../models/index.js';
import { sliceRuns } from '../../models/search.js';
import type { Session, StepWatch } from '../../src/harness/index.js';
import { stableJson } from '../../src/trace/index.js';

/** Every run a search does, as (chunk seed, topology, commands), through the step watch. */
const recordRuns = (slice?: { index: number; count: number }, runs = 110): string[] => {
  const seen = new Map<Session, { seed: number }>();
  let seed = 0;
  const watch: StepWatch = {
    group: () => {},
    groupSwitch: () => {},
    chunk: (s) => {
      seed = s;
    },
    enter: (s) => {
      if (!seen.has(s)) seen.set(s, { seed });
    },
    leave: () => {},
  };
  const out = searchForViolation({
    topologies: topologyFor('vtd', { mode: 'random' }), seed: 40, budget: { runs }, maxCommands: 12, watch,
    ...(slice === undefined ? {} : { slice }),
  });
  expect(out.counterexample).toBeUndefined();
  expect(out.runs).toBe(slice === undefined ? runs : sliceRuns(runs, slice));
  return [...seen].map(([s, { seed: k }]) => stableJson({ seed: k, topology: s.topology, commands: s.commands }));
};

describe('--slice: parts of one search', () => {
  test('sliceRuns: disjoint chunks, balanced to one chunk, summing to the whole', () => {
    for (const runs of [1, 24, 25, 26, 110, 1000, 1001]) {
      for (const n of [1, 2, 3, 4, 7, 64]) {
        const parts = Array.from({ length: n }, (_, i) => sliceRuns(runs, { index: i + 1, count: n }));
        expect(parts.reduce((a, b) => a + b, 0)).toBe(runs);
        expect(Math.max(...parts) - Math.min(...parts)).toBeLessThanOrEqual(CHUNK_RUNS);
      }
    }
  });

  test('Four slices run exactly the runs of the unsliced search: same seeds, topologies and commands, each once', () => {
    const whole = recordRuns();
    const parts = [1, 2, 3, 4].map((index) => recordRuns({ index, count: 4 }));
    // A run that executes no command never reaches the watch; the run counts above include it.
    expect(whole.length).toBeGreaterThan(90);
    for (const p of parts) expect(p.length).toBeGreaterThan(0);
    expect(parts.flat().sort()).toEqual([...whole].sort());
  });
});
