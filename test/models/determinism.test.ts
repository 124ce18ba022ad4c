import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkProperty, topologyArb } from '../../models/index.js';
import { driverFor, runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import { newTrace, serializeTrace } from '../../src/trace/index.js';
import { withoutSecondaryTlbFlush } from './brokenDriver.js';

describe('Determinism', () => {
  test('The same seed gives a byte-identical counterexample trace, across many seeds', () => {
    const driver = withoutSecondaryTlbFlush(driverFor('vtd'));
    const texts = new Set<string>();
    for (let seed = 100; seed < 112; seed++) {
      const once = () => {
        const out = checkProperty({ topologies: fc.constant(defaultTopology('vtd')), seed, numRuns: 100, driver });
        expect(out.counterexample).toBeDefined();
        return serializeTrace(out.counterexample!);
      };
      const a = once();
      expect(once()).toBe(a);
      texts.add(a);
    }
    // Different seeds find different counterexamples: the comparison is not vacuous.
    expect(texts.size).toBeGreaterThan(1);
  });

  test('The same seed gives the same runs, steps and commands on the correct impl', () => {
    for (let seed = 0; seed < 6; seed++) {
      const once = () => {
        const out = checkProperty({ topologies: topologyArb(), seed, numRuns: 20 });
        return JSON.stringify({ steps: out.stats.steps, kinds: out.stats.kinds, lengths: out.stats.lengths });
      };
      expect(once()).toBe(once());
    }
  });

  test.each(PLATFORMS)('A recorded sequence re-run gives a byte-identical trace, events included, on %s', (platform) => {
    const t = defaultTopology(platform);
    const cmds = [
      { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' }, { kind: 'touch', mm: 0, page: 1, write: true },
      { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 1, write: false }, { kind: 'munmap', mm: 0, first: 0, count: 2 },
      { kind: 'exit', mm: 0 }, { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'gracePeriod' },
    ] as const;
    const text = () => {
      const r = runSequence(t, cmds, { events: true });
      if (!r.ok) throw new Error(r.error);
      return serializeTrace(newTrace({ topology: t, seed: 0, commands: r.value.session.commands, steps: r.value.session.steps }));
    };
    const a = text();
    expect(a).toContain('"events"');
    expect(text()).toBe(a);
  });
});
