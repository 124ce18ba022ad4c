import { describe, expect, test } from 'vitest';
import { counterexampleKey } from '../../src/trace/index.js';
import { sampleTrace } from './sampleTrace.js';

describe('The dedup key of a counterexample', () => {
  test('Ignores where it was found (seed, fast-check path, harness version), not what it is', () => {
    const t = sampleTrace();
    const k = counterexampleKey(t);
    expect(k).toMatch(/^[0-9a-f]{16}$/);
    expect(counterexampleKey({ ...t, seed: t.seed + 99, path: '3:1:0', replayPath: 'AAB', harnessVersion: '9.9.9' })).toBe(k);
    expect(counterexampleKey({ ...t, commands: t.commands.slice(0, -1) })).not.toBe(k);
    expect(counterexampleKey({ ...t, fault: 'B07' })).not.toBe(k);
    expect(counterexampleKey({ ...t, violation: { ...t.violation!, invariant: 'I6' } })).not.toBe(k);
    expect(counterexampleKey({ ...t, topology: { ...t.topology, pages: t.topology.pages + 1 } })).not.toBe(k);
  });
});
