import { describe, expect, test } from 'vitest';
import { topologyArb } from '../../models/index.js';
import { suiteSeed } from './seed.js';
import { runSuite } from './suite.js';

describe('Mixed-platform model suite', () => {
  test('Topologies of either platform, 5-level paging included, show no violation', () => {
    const stats = runSuite('mixed', topologyArb(), suiteSeed() + 2, 1850);
    expect(stats.distinctKinds()).toBe(32); // every kind but dmaPasid (groups only); unplug, prg, stopMarker, the paging-domain and guest stage-1 commands past attachPasid: VT-d only
    // Generation measurements the issue asks for: long sequences, most commands legal.
    expect(stats.longest).toBeGreaterThan(150);
    expect(stats.executedFraction()).toBeGreaterThan(0.45);
  });
});
