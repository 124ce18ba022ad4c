/** PRI test bench: the walk topologies with every other ATS device a PRI endpoint, and the setup. */
import { expect } from 'vitest';
import type { Invariant } from '../../../properties/invariant.js';
import type { Platform, Topology } from '../../../src/shared/index.js';
import { type Bench, bench, randomWalk, smallTopology, walkTopologies } from './helpers.js';

export const withPri = (t: Topology): Topology => ({ ...t, devices: t.devices.map((d, i) => ({ ...d, pri: d.ats && i % 2 === 0 })) });

/** The small topology with dev0 (ATS, behind IOMMU 0) a PRI endpoint. */
export const priTopology = (platform: Platform): Topology => withPri(smallTopology(platform));

/** A fresh process in `mm` with pages 0..3 mapped rw and none touched, bound to dev0. */
export const priSetup = (platform: Platform, mm = 0): Bench => {
  const b = bench(platform, priTopology(platform));
  b.run({ kind: 'spawn', mm }, { kind: 'mmap', mm, first: 0, count: 4, prot: 'rw' }, { kind: 'bind', dev: 0, mm });
  return b;
};

/** The invariant holds at every step of random legal walks over PRI topologies; returns the page requests sent. */
export const priHoldsOnRandomWalks = (inv: Invariant, platform: Platform, seeds = 8, steps = 300): number => {
  let requests = 0;
  const topologies = walkTopologies(platform).map(withPri);
  for (let seed = 1; seed <= seeds; seed++) {
    const b = bench(platform, topologies[seed % topologies.length]!);
    randomWalk(b, seed * 104729, steps, (ctx) => {
      const v = inv.check(ctx);
      if (v.length > 0) throw new Error(`seed ${seed} step ${ctx.step} ${JSON.stringify(ctx.cmd)}: ${v[0]!.message}`);
    });
    for (const d of b.world.devices) requests += d.hw.counters.get('pri.request');
  }
  expect(requests).toBeGreaterThan(0);
  return requests;
};
