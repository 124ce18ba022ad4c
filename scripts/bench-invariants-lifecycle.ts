/**
 * Cost of each lifecycle invariant per checked step, on both platforms' default topologies.
 * Run: npx tsx scripts/bench-invariants-lifecycle.ts [runs=150] [steps=200]
 * The same seeded legal command sequences are replayed on spec and impl; each invariant is
 * timed separately after every step. Wall-clock time is only reported, never decides anything.
 */
import { createWorld, implStep, type IommuDriver } from '../src/impl/index.js';
import { amdIommuDriver } from '../src/impl/amd/iommu.js';
import { armSmmuV3Driver } from '../src/impl/smmuv3/smmu.js';
import { intelIommuDriver } from '../src/impl/vtd/iommu.js';
import { defaultTopology, type Command, type Platform } from '../src/shared/index.js';
import { initSpec, specStep } from '../src/spec/index.js';
import type { StepProbe } from '../properties/probe.js';
import { LIFECYCLE_INVARIANTS } from '../properties/lifecycle/index.js';
import { nextLegal, rng } from '../test/properties/randomCommands.js';

const RUNS = Number(process.argv[2] ?? 150);
const STEPS = Number(process.argv[3] ?? 200);
const probe = { begin: (): void => undefined } as StepProbe;
const drivers: Record<Platform, IommuDriver> = { vtd: intelIommuDriver, smmuv3: armSmmuV3Driver, amd: amdIommuDriver };

/** The command sequences, generated once against the spec so every timed pass replays the same. */
const sequences = (platform: Platform): Command[][] =>
  Array.from({ length: RUNS }, (_, seed) => {
    const spec = initSpec(defaultTopology(platform));
    const r = rng(seed + 1);
    return Array.from({ length: STEPS }, () => {
      const cmd = nextLegal(spec, r);
      specStep(spec, cmd);
      return cmd;
    });
  });

/**
 * Replays every sequence once; after each step each invariant's check runs once, timed alone
 * (some invariants remember the previous step, so a check is never repeated). The cost of
 * reading the clock is measured on an empty check and subtracted. µs per step.
 */
const NOOP = { check: () => [] };
function measure(platform: Platform, seqs: Command[][]): { perInv: number[]; steps: number; violations: number } {
  const perInv = LIFECYCLE_INVARIANTS.map(() => 0);
  let clock = 0;
  let steps = 0;
  let violations = 0;
  for (const seq of seqs) {
    const t = defaultTopology(platform);
    const world = createWorld(t, drivers[platform]);
    const spec = initSpec(t);
    for (let step = 0; step < seq.length; step++) {
      const cmd = seq[step]!;
      const expected = specStep(spec, cmd);
      const actual = implStep(world, cmd);
      const ctx = { step, cmd, expected, actual, spec, world, anomalies: [], probe };
      const c0 = performance.now();
      violations += NOOP.check().length;
      clock += performance.now() - c0;
      for (let i = 0; i < LIFECYCLE_INVARIANTS.length; i++) {
        const inv = LIFECYCLE_INVARIANTS[i]!;
        const t0 = performance.now();
        violations += inv.check(ctx).length;
        perInv[i]! += performance.now() - t0;
      }
      steps++;
    }
  }
  return { perInv: perInv.map((ms) => ((ms - clock) * 1e3) / steps), steps, violations };
}

for (const platform of ['vtd', 'smmuv3'] as const) {
  const seqs = sequences(platform);
  measure(platform, seqs); // warm-up
  // The least of three passes, per invariant: timing noise only ever adds.
  const passes = [measure(platform, seqs), measure(platform, seqs), measure(platform, seqs)];
  const { steps, violations } = passes[0]!;
  const perInv = LIFECYCLE_INVARIANTS.map((_, i) => Math.min(...passes.map((m) => m.perInv[i]!)));
  console.log(`${platform}: ${steps} steps (${violations} violations: should be 0)`);
  LIFECYCLE_INVARIANTS.forEach((inv, i) => console.log(`  ${inv.id.padEnd(4)} ${perInv[i]!.toFixed(3).padStart(7)} µs/step  ${inv.title}`));
  console.log(`  all  ${perInv.reduce((a, b) => a + b, 0).toFixed(3).padStart(7)} µs/step`);
}
