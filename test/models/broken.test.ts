import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkProperty } from '../../models/index.js';
import { driverFor, replayTrace } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import { loadTrace, traceFileName, writeTrace } from '../../src/trace/index.js';
import { withoutSecondaryTlbFlush } from './brokenDriver.js';

const dir = mkdtempSync(join(tmpdir(), 'sva-broken-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('A deliberately broken impl', () => {
  for (const platform of PLATFORMS) {
    test(`is found on ${platform}, shrunk to a short sequence and written as a valid, replayable trace`, () => {
      const driver = withoutSecondaryTlbFlush(driverFor(platform));
      const lengths: number[] = [];
      for (const seed of [2, 3, 4]) {
        const out = checkProperty({ topologies: fc.constant(defaultTopology(platform)), seed, numRuns: 200, driver });
        const trace = out.counterexample;
        expect(trace?.violation).toBeDefined();
        if (trace === undefined) continue;
        lengths.push(trace.commands.length);
        expect(trace.seed).toBe(seed);
        // fast-check's path is kept only while the topology is the generated one (shrinking may replace it).
        if (JSON.stringify(trace.topology) === JSON.stringify(defaultTopology(platform))) expect(trace.path).toMatch(/^\d+(:\d+)*$/);
        else expect(trace.path).toBeUndefined();
        expect(trace.steps).toHaveLength(trace.violation!.step + 1);
        // The missing flush shows once something the IOMMU may cache is unmapped, downgraded,
        // upgraded by a write fault (the harness flushes secondary TLBs on that upgrade),
        // write-protected for a fork's copy (dup_mmap flushes the parent) or migrated (the batched flush).
        const flushes = (c: (typeof trace.commands)[number]): boolean =>
          c.kind === 'munmap' || c.kind === 'mprotect' || c.kind === 'exit' || c.kind === 'vfree' || c.kind === 'fork' ||
          c.kind === 'migrate' || (c.kind === 'touch' && c.write);
        expect(trace.commands.some(flushes)).toBe(true);
        const path = join(dir, traceFileName(trace));
        expect(writeTrace(path, trace)).toEqual({ ok: true, value: path });
        const loaded = loadTrace(path);
        expect(loaded.ok).toBe(true);
        // Replay needs no fast-check: the same violation at the same step, with the broken driver.
        const again = replayTrace(trace, { driver });
        expect(again.ok && again.value.trace.violation).toEqual(trace.violation);
        // ...and none with the correct one.
        const fixed = replayTrace(trace);
        expect(fixed.ok && fixed.value.trace.violation).toBeUndefined();
      }
      console.log(`[models] broken ${platform}: shrunk counterexample lengths ${lengths.join(', ')}`);
      expect(Math.min(...lengths)).toBeLessThanOrEqual(8);
    });
  }
});
