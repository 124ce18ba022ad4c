import { describe, expect, test } from 'vitest';
import { replayTrace, runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { newTrace } from '../../src/trace/index.js';

const t = defaultTopology('smmuv3');
const cmds: Command[] = [
  { kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 3, prot: 'rw' }, { kind: 'touch', mm: 1, page: 2, write: true },
  { kind: 'bind', dev: 2, mm: 1 }, { kind: 'dma', dev: 2, mm: 1, page: 2, write: false }, { kind: 'exit', mm: 1 },
];

describe('Replay without fast-check', () => {
  test('A command list runs clean on the correct impl and records every step', () => {
    const r = runSequence(t, cmds);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.session.steps).toHaveLength(cmds.length);
    const dma = r.value.session.steps[4]!;
    expect(dma.actual.ok).toBe(true);
    expect(dma.actual).toEqual(dma.expected);
    expect(r.value.session.violation).toBeUndefined();
  });

  test('A command that breaks its caller contract is one error line, naming the step', () => {
    const r = runSequence(t, [...cmds, { kind: 'touch', mm: 1, page: 0, write: false }]);
    expect(r).toEqual({ ok: false, error: 'step 6: touch(mm1,p0,r) breaks its caller contract in the state reached' });
  });

  test('replayTrace returns the trace as re-executed, with events', () => {
    const trace = newTrace({ topology: t, seed: 5, commands: cmds, steps: [] });
    const r = replayTrace(trace);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.trace.seed).toBe(5);
    expect(r.value.trace.steps).toHaveLength(cmds.length);
    expect(r.value.trace.steps.some((s) => (s.events?.length ?? 0) > 0)).toBe(true);
    expect(r.value.trace.violation).toBeUndefined();
  });
});
