import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { topologyArb } from '../../models/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { suiteSeed } from './seed.js';
import { runSuite } from './suite.js';

describe('VT-d model suite', () => {
  test('Random VT-d topologies show no violation on the correct impl', () => {
    const stats = runSuite('vtd random', topologyArb(['vtd']), suiteSeed(), 1850);
    expect(stats.distinctKinds()).toBe(32); // every kind but dmaPasid (groups only); unplug, prg, stopMarker, the paging-domain and guest stage-1 commands past attachPasid: VT-d only
    // The I/O page-fault protocol parts the run statistics count are all reached.
    for (const [part, n] of Object.entries(stats.iopf)) expect(n, part).toBeGreaterThan(0);
  });

  test('The default VT-d topology shows no violation on the correct impl', () => {
    const stats = runSuite('vtd default', fc.constant(defaultTopology('vtd')), suiteSeed() + 1, 920);
    // Runs as long as the default topology allows: 35,000 steps in 920 runs before the budget was halved.
    expect(stats.steps / stats.runs).toBeGreaterThan(35_000 / 920);
  });
});
