/**
 * A world and the spec side by side, stepped through the real impl (createWorld + implStep)
 * and the real spec (initSpec + specStep), and the CheckContext the runner would hand an
 * invariant after the last command. Tests craft bad states by mutating world objects after
 * building a legal one, then call `check` again.
 */
import { expect } from 'vitest';
import { createWorld, type World } from '../../src/impl/index.js';
import { stepBoth } from '../../src/harness/index.js';
import { driverFor } from '../../src/harness/platforms.js';
import { PLATFORMS as ALL_PLATFORMS } from '../../src/shared/index.js';
import type { Command, DeviceSpec, FindingName, IommuSpec, Observation, Platform, Topology } from '../../src/shared/index.js';
import { FINDING_NAMES } from '../../src/shared/index.js';
import { initSpec, precondition, type SpecState } from '../../src/spec/index.js';
import type { CheckContext, Invariant, Violation } from '../../properties/invariant.js';
import type { StepProbe } from '../../properties/probe.js';
import { spawn, bind, unbind, mmap, touch, munmap, mprotect, dma, exit, mmdrop, fork, grace, vmalloc } from '../commands.js';
export { spawn, bind, unbind, mmap, touch, munmap, mprotect, dma, exit, mmdrop, fork, grace, vmalloc };

export const PLATFORMS: readonly Platform[] = ALL_PLATFORMS;

const iommu = (over: Partial<IommuSpec> = {}): IommuSpec => ({ pasidBits: 4, didBits: 16, asidBits: 4, rangeInv: true, ...over });
const dev = (i: number, iommuIdx: number, over: Partial<DeviceSpec> = {}): DeviceSpec => ({
  iommu: iommuIdx, group: i, pasidBits: 20, ats: true, pri: false, ...over,
});

/**
 * Two IOMMUs; dev0, dev1 behind IOMMU 0 (dev1 without ATS), dev2 behind IOMMU 1, and dev3,
 * dev4 and dev5 sharing group 9 behind IOMMU 1 (dev4 has no PASID capability: B16's shape).
 */
export const topology = (platform: Platform, over: Partial<Topology> = {}): Topology => ({
  platform,
  iommus: [iommu(), iommu()],
  devices: [dev(0, 0), dev(1, 0, { ats: false }), dev(2, 1), dev(3, 1, { group: 9 }), dev(4, 1, { group: 9, pasidBits: 0 }), dev(5, 1, { group: 9 })],
  mms: 3,
  pages: 6,
  kpages: 2,
  ptLevels: 4,
  ...over,
});

export interface Pair {
  readonly world: World;
  readonly spec: SpecState;
  /** Steps so far. */
  step: number;
  last: { cmd: Command; expected: Observation; actual: Observation };
  /** Run legal commands on both sides; throws on an illegal command or differing observations. */
  run(...cmds: Command[]): Pair;
  /** The context after the last command. */
  ctx(): CheckContext;
}

const probe = { begin: (): void => undefined } as StepProbe;

/**
 * The real impl with the proposed fixes of the known upstream findings on (src/shared/finding.ts):
 * an invariant "holds on states the real impl produced" is checked against the kernel as it
 * should be; each finding's own tests show mainline as it is.
 */
export function pair(t: Topology | Platform = 'vtd', fixes: readonly FindingName[] = FINDING_NAMES): Pair {
  const top = typeof t === 'string' ? topology(t) : t;
  const world = createWorld(top, driverFor(top.platform), undefined, { fixes });
  const spec = initSpec(top);
  const p: Pair = {
    world, spec, step: -1,
    last: { cmd: { kind: 'gracePeriod' }, expected: { ok: true }, actual: { ok: true } },
    run(...cmds: Command[]): Pair {
      for (const cmd of cmds) {
        if (!precondition(spec, cmd)) throw new Error(`illegal in this state: ${JSON.stringify(cmd)}`);
        const { expected, actual } = stepBoth(spec, world, cmd);
        // The fault reason is diagnostic text that differs per platform; the outcome must agree.
        expect({ ...actual, fault: undefined }, `step ${p.step + 1}: ${JSON.stringify(cmd)}`).toEqual({ ...expected, fault: undefined });
        p.step++;
        p.last = { cmd, expected, actual };
      }
      return p;
    },
    ctx(): CheckContext {
      return { step: p.step, ...p.last, spec, world, anomalies: [], probe };
    },
  };
  return p;
}

/** The invariant's violations on the pair's current state. */
export const check = (inv: Invariant, p: Pair): readonly Violation[] => inv.check(p.ctx());

/** Asserts the invariant holds, showing its messages when it does not. */
export const expectHolds = (inv: Invariant, p: Pair): void => {
  expect(check(inv, p).map((v) => v.message)).toEqual([]);
};

/** Asserts the invariant fires with its id and a message matching `what`. */
export const expectFires = (inv: Invariant, p: Pair, what: RegExp): void => {
  const vs = check(inv, p);
  expect(vs.length).toBeGreaterThan(0);
  for (const v of vs) expect(v.invariant).toBe(inv.id);
  expect(vs.map((v) => v.message).join('\n')).toMatch(what);
};

/** Set a readonly field of a kernel object (crafting a bad state). */
export const poke = <T extends object>(obj: T, field: string, value: unknown): void => {
  (obj as Record<string, unknown>)[field] = value;
};


/** A busy legal state: two mms bound through several devices (two binds of one pair), pages touched. */
export const busy = (t: Topology | Platform): Pair =>
  pair(t).run(
    spawn(0), mmap(0, 0, 4), touch(0, 0), touch(0, 1, false), spawn(1), mmap(1, 2, 2, 'r'), touch(1, 2, false),
    bind(0, 0), bind(0, 0), bind(2, 0), bind(3, 0), bind(0, 1), vmalloc(0),
  );
