/**
 * Test bench for the hardware invariants: a world on the real impl with the probe attached, a
 * spec beside it, a legal step that builds the CheckContext the runner would, and a seeded
 * generator of legal random commands.
 */
import { expect } from 'vitest';
import type { CheckContext, Invariant, Violation } from '../../../properties/invariant.js';
import { attachProbe, type StepProbe } from '../../../properties/probe.js';
import { driverFor } from '../../../src/harness/platforms.js';
import { stepBoth } from '../../../src/harness/index.js';
import { createWorld, type IommuDriver, type MmuNotifierOps, type World } from '../../../src/impl/index.js';
import type { Command, DeviceSpec, IommuSpec, Platform, Topology } from '../../../src/shared/index.js';
import { failSitesOf, FINDING_NAMES, defaultTopology, seedThreadTopology, type FindingName } from '../../../src/shared/index.js';
import { initSpec, precondition, type SpecState } from '../../../src/spec/index.js';
import { rng } from '../randomCommands.js';

export interface Bench {
  readonly world: World;
  readonly spec: SpecState;
  readonly probe: StepProbe;
  /** The context of the last step (what the runner hands the invariants). */
  ctx: CheckContext;
  /** Run legal commands (throws on an illegal one); returns the last context. */
  run(...cmds: Command[]): CheckContext;
  /** Re-run the checks against the current world with the last step's probe and anomalies. */
  check(inv: Invariant): readonly Violation[];
}

const iommu = (over: Partial<IommuSpec> = {}): IommuSpec => ({ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, ...over });
const dev = (iommuIdx: number, group: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu: iommuIdx, group, pasidBits: 20, ats: true, pri: false, ...over,
});

/** Two IOMMUs; two ATS devices and one non-ATS device behind IOMMU 0, one ATS device behind 1. */
export const smallTopology = (platform: Platform, over: Partial<Topology> = {}): Topology => ({
  ...defaultTopology(platform),
  iommus: [iommu(), iommu({ rangeInv: false })],
  devices: [dev(0, 0), dev(0, 1), dev(0, 2, { ats: false }), dev(1, 3)],
  mms: 3,
  pages: 6,
  kpages: 2,
  ...over,
});

/** The real impl with the known upstream findings' proposed fixes on (as pair() in ../helpers.ts). */
export function bench(platform: Platform, topology: Topology = smallTopology(platform), driver?: IommuDriver, fixes: readonly FindingName[] = FINDING_NAMES): Bench {
  const world = createWorld(topology, driver ?? driverFor(platform), undefined, { fixes });
  const spec = initSpec(topology);
  const probe = attachProbe(world);
  const b: Bench = {
    world, spec, probe,
    ctx: undefined as unknown as CheckContext,
    run(...cmds) {
      for (const cmd of cmds) {
        if (!precondition(spec, cmd)) throw new Error(`illegal here: ${JSON.stringify(cmd)}`);
        probe.begin();
        const { expected, actual } = stepBoth(spec, world, cmd);
        const anomalies = world.kernel.mem.takeAnomalies();
        b.ctx = { step: (b.ctx?.step ?? -1) + 1, cmd, expected, actual, spec, world, anomalies, probe };
      }
      return b.ctx;
    },
    check: (inv) => inv.check(b.ctx),
  };
  return b;
}

/** A page mapped rw and touched in a fresh process in `mm`, bound to `devs`. */
export const setup = (b: Bench, mm: number, devs: number[], pages = [0, 1]): void => {
  b.run({ kind: 'spawn', mm }, { kind: 'mmap', mm, first: 0, count: 4, prot: 'rw' });
  for (const page of pages) b.run({ kind: 'touch', mm, page, write: true });
  for (const d of devs) b.run({ kind: 'bind', dev: d, mm });
};

/** One random command over the topology's ids (may be illegal: the caller filters). */
export const randomCommand = (t: Topology, r: () => number, bonded?: { dev: number; mm: number }): Command => {
  const n = (k: number): number => Math.floor(r() * k);
  const dev = bonded?.dev ?? n(t.devices.length);
  const mm = bonded?.mm ?? n(t.mms);
  const page = n(t.pages);
  const kinds = ['bind', 'bind', 'bind', 'unbind', 'mmap', 'mmap', 'mmap', 'touch', 'touch', 'touch', 'touch', 'touch',
    'munmap', 'mprotect', 'dma', 'dma', 'dma', 'dma', 'dma', 'dma', 'prefetch', 'prefetch', 'prefetch',
    'spawn', 'spawn', 'gracePeriod', 'vmalloc', 'vfree', 'serviceFaults'] as const;
  // Lifetime ends and injected failures are rare, so processes live long enough to be used.
  const rare = ['exit', 'mmdrop', 'fork', 'failNext', 'unbind'] as const;
  const kind = r() < 0.06 ? rare[n(rare.length)]! : kinds[n(kinds.length)]!;
  switch (kind) {
    case 'bind': case 'unbind': return { kind, dev, mm };
    case 'mmap': {
      const first = n(2);
      return { kind, mm, first, count: 1 + n(t.pages - first), prot: r() < 0.3 ? 'r' : 'rw' };
    }
    case 'touch': return { kind, mm, page, write: r() < 0.5 };
    case 'munmap': return { kind, mm, first: page, count: 1 + n(3) };
    case 'mprotect': return { kind, mm, page, prot: (['none', 'r', 'rw'] as const)[n(3)]! };
    case 'dma': return { kind, dev, mm, page, write: r() < 0.5 };
    case 'prefetch': return { kind, dev, mm, page };
    case 'exit': case 'mmdrop': case 'spawn': return { kind, mm };
    case 'fork': return { kind, mm, child: n(t.mms) };
    case 'gracePeriod': case 'serviceFaults': return { kind };
    case 'vmalloc': case 'vfree': return { kind, kpage: n(Math.max(1, t.kpages)) };
    case 'failNext': {
      const sites = failSitesOf(t.platform);
      return { kind, site: sites[n(sites.length)]! };
    }
  }
};

/**
 * Run `steps` legal random commands and call `each` after every one. Returns how many ran.
 */
export const randomWalk = (b: Bench, seed: number, steps: number, each: (ctx: CheckContext) => void): number => {
  const r = rng(seed);
  let ran = 0;
  const bonds: { dev: number; mm: number }[] = [];
  for (let tries = 0; ran < steps && tries < steps * 50; tries++) {
    // Bias towards bonded pairs so DMAs hit, caches fill and flushes have work to do.
    bonds.length = 0;
    b.world.fds.forEach((row, mm) => row.forEach((fd, dev) => fd !== undefined && bonds.push({ dev, mm })));
    const cmd = randomCommand(b.world.topology, r, bonds.length > 0 && r() < 0.6 ? bonds[Math.floor(r() * bonds.length)] : undefined);
    if (!precondition(b.spec, cmd)) continue;
    each(b.run(cmd));
    ran++;
  }
  return ran;
};

/**
 * Topologies the random walks cycle through: the small one, 5-level paging, a two-device group,
 * and the seed thread's four ATS devices per IOMMU.
 */
export const walkTopologies = (platform: Platform): Topology[] => {
  const small = smallTopology(platform);
  return [
    small,
    smallTopology(platform, { ptLevels: 5 }),
    { ...small, devices: small.devices.map((d, i) => (i < 2 ? { ...d, group: 0 } : d)) },
    { ...seedThreadTopology(2), platform, iommus: [iommu({ pasidBits: 8 }), iommu({ pasidBits: 8, rangeInv: false })] },
  ];
};

/** The invariant holds at every step of random legal sequences on the platform. */
export const holdsOnRandomWalks = (inv: Invariant, platform: Platform, seeds = 8, steps = 300): void => {
  let checked = 0;
  const topologies = walkTopologies(platform);
  for (let seed = 1; seed <= seeds; seed++) {
    const b = bench(platform, topologies[seed % topologies.length]!);
    randomWalk(b, seed * 7919, steps, (ctx) => {
      const v = inv.check(ctx);
      if (v.length > 0) throw new Error(`seed ${seed} step ${ctx.step} ${JSON.stringify(ctx.cmd)}: ${v[0]!.message}`);
      checked++;
    });
  }
  expect(checked).toBeGreaterThan(seeds * steps * 0.9);
};

/** Ids of the violations, deduplicated. */
export const ids = (v: readonly Violation[]): string[] => [...new Set(v.map((x) => x.invariant))];

/** Replace a unit's submit for the rest of the test: `f` gets each descriptor/command and the original. */
export const wrapSubmit = <T>(unit: { submit(x: T): unknown }, f: (x: T, submit: (x: T) => void) => void): void => {
  const orig = unit.submit.bind(unit) as (x: T) => void;
  unit.submit = ((x: T) => f(x, orig)) as typeof unit.submit;
};

/** Break one mmu-notifier op of every SVA domain of the slot's mm (a driver that forgets it). */
export const muteNotifier = (b: Bench, mm: number, op: 'arch_invalidate_secondary_tlbs' | 'release'): void => {
  for (const n of b.world.mms[mm]!.notifiers) {
    (n as { ops: MmuNotifierOps }).ops = { ...n.ops, [op]: function* () {} };
  }
};

/** The PASID of the slot's mm. */
export const pasidOf = (b: Bench, mm: number): number => b.world.mms[mm]!.iommu_mm!.pasid;
