import type { Command, FindingName, Observation, TraceEvent, Topology } from '../../../src/shared/index.js';
import { seedThreadTopology } from '../../../src/shared/index.js';
import { createWorld, implStep, type World } from '../../../src/impl/index.js';
import { IntelIommu, to_dmar_domain, type DmarDomain } from '../../../src/impl/vtd/dmar.js';
import { intelIommuDriver } from '../../../src/impl/vtd/iommu.js';

export interface VtdWorld {
  world: World;
  events: TraceEvent[];
  run: (...cmds: Command[]) => Observation[];
  iommu: (i: number) => IntelIommu;
  /** Descriptors submitted to unit i since the last call: `submit <desc>` texts. */
  takeQueue: (i?: number) => string[];
  domainOf: (slot: number) => DmarDomain;
}

/** `fixes`: proposed fixes of known upstream findings to switch on (none: mainline as it is). */
export const vtdWorld = (topology: Topology = seedThreadTopology(), fixes: readonly FindingName[] = []): VtdWorld => {
  const events: TraceEvent[] = [];
  const world = createWorld(topology, intelIommuDriver, { event: (lane, actor, text) => void events.push({ lane, actor, text }) }, { fixes });
  let seen = 0;
  return {
    world,
    events,
    run: (...cmds) => cmds.map((c) => implStep(world, c)),
    iommu: (i) => world.iommus[i] as IntelIommu,
    takeQueue: (i) => {
      const fresh = events.slice(seen);
      seen = events.length;
      return fresh
        .filter((e) => e.lane === 'queue' && e.text.startsWith('submit ') && (i === undefined || e.actor === `vtd${i}`))
        .map((e) => (i === undefined ? `${e.actor} ${e.text.slice(7)}` : e.text.slice(7)));
    },
    domainOf: (slot) => to_dmar_domain(world.mms[slot]!.iommu_mm!.sva_domains[0]!),
  };
};

/** spawn mm0, map pages [0, n) rw and touch them all. */
export const populated = (n = 4): Command[] => [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: n, prot: 'rw' },
  ...Array.from({ length: n }, (_, page): Command => ({ kind: 'touch', mm: 0, page, write: true })),
];

export const bindAll = (devs: number[], mm = 0): Command[] => devs.map((dev): Command => ({ kind: 'bind', dev, mm }));
export const dmaAll = (devs: number[], page: number, mm = 0): Command[] =>
  devs.map((dev): Command => ({ kind: 'dma', dev, mm, page, write: false }));
