import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { topologyArb } from '../../models/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { suiteSeed } from './seed.js';
import { runSuite } from './suite.js';

describe('SMMUv3 model suite', () => {
  test('Random SMMUv3 topologies show no violation on the correct impl', () => {
    const stats = runSuite('smmuv3 random', topologyArb(['smmuv3']), suiteSeed(), 1850);
    expect(stats.distinctKinds()).toBe(27); // every kind but unplug, prg, stopMarker (VT-d only) and the group-only dmaPasid (the paging-domain commands run since SMMUv3 has paging domains at a PASID)
  });

  test('The default SMMUv3 topology shows no violation on the correct impl', () => {
    const stats = runSuite('smmuv3 default', fc.constant(defaultTopology('smmuv3')), suiteSeed() + 1, 920);
    // Runs as long as the default topology allows: 35,000 steps in 920 runs before the budget was halved.
    expect(stats.steps / stats.runs).toBeGreaterThan(35_000 / 920);
  });
});
