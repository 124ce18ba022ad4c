import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { harnessRunner, platformsForFault, registerTestFault, replayOptions, unregisterTestFault } from '../../models/index.js';
import { openSession, replayTrace, runSequence } from '../../src/harness/index.js';
import { FAULTS, PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { loadTrace, newTrace } from '../../src/trace/index.js';
import { withoutSecondaryTlbFlush } from '../models/brokenDriver.js';

const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;
const TEST_FAULT = 'test:no-secondary-tlb-flush';
afterEach(() => unregisterTestFault(TEST_FAULT));
const dir = mkdtempSync(join(tmpdir(), 'sva-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t = defaultTopology('vtd');
const cmds: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }];

describe('The fault switch reaches the world', () => {
  test('A session opened with a fault boots a kernel with that fault; without one, none', () => {
    expect(openSession(t, { fault: 'B07' }).world.kernel.fault).toBe('B07');
    expect(openSession(t).world.kernel.fault).toBeUndefined();
  });

  test('runSequence and replayTrace re-create the world with the fault they are given', () => {
    const r = runSequence(t, cmds, { fault: 'B04' });
    expect(r.ok && r.value.session.world.kernel.fault).toBe('B04');
    const trace = newTrace({ topology: t, seed: 1, fault: 'B04', commands: cmds, steps: [] });
    const again = replayTrace(trace, { fault: 'B04' });
    expect(again.ok && again.value.trace.fault).toBe('B04');
    // Without the option the fault is off, and the re-executed trace says so.
    const clean = replayTrace(trace);
    expect(clean.ok && 'fault' in clean.value.trace).toBe(false);
  });
});

describe('Where a fault applies', () => {
  test('A fault keeps the requested platforms it applies to, in order', () => {
    expect(platformsForFault('B01', ['smmuv3', 'vtd'])).toEqual({ ok: true, value: ['smmuv3', 'vtd'] });
    expect(platformsForFault('B10', ['vtd', 'smmuv3'])).toEqual({ ok: true, value: ['smmuv3'] });
    expect(platformsForFault(undefined, ['vtd'])).toEqual({ ok: true, value: ['vtd'] });
  });

  test('A fault that applies to none of the requested platforms is one line', () => {
    expect(platformsForFault('B07', ['smmuv3'])).toEqual({ ok: false, error: 'fault B07 applies to vtd only, not to smmuv3' });
  });

  test('Every fault in the registry applies to at least one platform', () => {
    for (const f of FAULTS) expect(platformsForFault(f.id, PLATFORMS).ok, f.id).toBe(true);
  });
});

describe('The runner with a fault', () => {
  test('run narrows the platforms to the fault\'s and reports the fault in the summary', () => {
    const r = harnessRunner.run({ platforms: ['vtd', 'smmuv3'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 2 }, tracesDir: dir, fault: 'B10' });
    expect(r.ok && r.value.fault).toBe('B10');
    expect(r.ok && r.value.platforms.map((p) => p.platform)).toEqual(['smmuv3']);
  });

  test('run refuses a fault that applies to none of the chosen platforms', () => {
    const r = harnessRunner.run({ platforms: ['vtd'], topology: { mode: 'default' }, budget: { kind: 'runs', runs: 2 }, tracesDir: dir, fault: 'B10' });
    expect(r).toEqual({ ok: false, error: 'fault B10 applies to smmuv3 only, not to vtd' });
  });
});

describe('Replaying a trace with its fault', () => {
  test('A corpus fault becomes the session option; a wrong platform, an unknown name are one line each', () => {
    expect(replayOptions({ topology: t, fault: 'B06' })).toEqual({ ok: true, value: { fault: 'B06' } });
    expect(replayOptions({ topology: t })).toEqual({ ok: true, value: {} });
    expect(replayOptions({ topology: t, fault: 'B11' })).toEqual({ ok: false, error: "the trace's fault B11 applies to smmuv3 only, not to vtd" });
    expect(replayOptions({ topology: t, fault: 'skip-atc' })).toEqual({ ok: false, error: "the trace names an unknown fault 'skip-atc' (known: B01-B19, B30-B31, B40-B41, B50-B53, B60-B61, R01-R05)" });
  });

  test('The runner replays a corpus fault\'s trace with the fault on', () => {
    const trace = newTrace({ topology: t, seed: 1, fault: 'B07', commands: cmds, steps: [] });
    const r = harnessRunner.replay(trace);
    expect(r.ok && r.value.trace.fault).toBe('B07');
  });

  test('A trace naming a test-only fault is refused in one line unless a test registers it', () => {
    const loaded = loadTrace(join(FIXTURES, 'test-only-fault.trace.json'));
    if (!loaded.ok) throw new Error(loaded.error);
    const refused = harnessRunner.replay(loaded.value);
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toMatch(/^the trace was recorded with the test-only fault 'test:no-secondary-tlb-flush', a broken driver only the test suite injects/);
    expect(!refused.ok && refused.error).not.toContain('\n');
    registerTestFault(TEST_FAULT, withoutSecondaryTlbFlush);
    const again = harnessRunner.replay(loaded.value);
    expect(again.ok && again.value.trace.violation?.invariant).toBe(loaded.value.violation?.invariant);
    expect(again.ok && again.value.trace.fault).toBe(TEST_FAULT);
  });

  test('Only names starting with test: can be registered as test-only faults', () => {
    expect(() => registerTestFault('B07', withoutSecondaryTlbFlush)).toThrow(/starts with 'test:'/);
  });
});
