/**
 * Benchmark (npm run bench): checked steps/s next to an impl-only loop on the same commands,
 * on the default topology of each platform, and where the time of a checked step goes.
 *
 * Commands are generated once (fixed seed) and filtered through the spec's preconditions
 * BEFORE any timing, so every loop sees exactly the same legal commands. Each phase runs
 * twice and the second (warm) pass is reported. Usage: npm run bench [-- sequences]
 */
import fc from 'fast-check';
import type { CheckContext } from '../properties/invariant.js';
import { attachProbe } from '../properties/probe.js';
import { INVARIANTS } from '../properties/registry.js';
import { svaCommand } from '../models/index.js';
import { checkedStep, driverFor, openSession } from '../src/harness/index.js';
import { createWorld, implStep } from '../src/impl/index.js';
import { PLATFORMS, defaultTopology, sameObservation } from '../src/shared/index.js';
import type { Command, Platform, Topology } from '../src/shared/index.js';
import { initSpec, precondition, specStep } from '../src/spec/index.js';

const SEQUENCES = Number(process.argv[2] ?? 400);
const SEED = 4242;
let peakRss = 0;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

/** Legal command sequences: generated, then filtered by the spec (not timed). */
const legalSequences = (t: Topology): Command[][] => {
  const raw = fc.sample(fc.array(svaCommand(t).map((c) => c.cmd), { minLength: 100, maxLength: 400 }), { seed: SEED, numRuns: SEQUENCES });
  return raw.map((cmds) => {
    const s = initSpec(t);
    const legal: Command[] = [];
    for (let i = 0; i < t.mms; i++) {
      const spawn: Command = { kind: 'spawn', mm: i };
      specStep(s, spawn);
      legal.push(spawn);
    }
    for (const c of cmds) if (precondition(s, c)) {
      specStep(s, c);
      legal.push(c);
    }
    return legal;
  });
};

const time = (f: () => void): number => {
  f();
  sampleRss();
  const t0 = performance.now();
  f();
  const ms = performance.now() - t0;
  sampleRss();
  return ms;
};

const bench = (platform: Platform): void => {
  const t = defaultTopology(platform);
  const driver = driverFor(platform);
  const seqs = legalSequences(t);
  const steps = seqs.reduce((a, s) => a + s.length, 0);

  const bootMs = time(() => {
    for (let i = 0; i < seqs.length; i++) createWorld(t, driver);
  });
  const implMs = time(() => {
    for (const cmds of seqs) {
      const w = createWorld(t, driver);
      for (const c of cmds) implStep(w, c);
    }
  });
  const specMs = time(() => {
    for (const cmds of seqs) {
      const s = initSpec(t);
      for (const c of cmds) specStep(s, c);
    }
  });
  let violations = 0;
  const checkedMs = time(() => {
    violations = 0;
    for (const cmds of seqs) {
      const s = openSession(t);
      for (const c of cmds) if (checkedStep(s, c).length > 0) violations++;
    }
  });

  // Breakdown: the same checked loop, each phase timed separately (timer overhead included).
  const perInv = new Float64Array(INVARIANTS.length);
  let specPart = 0;
  let implPart = 0;
  for (let pass = 0; pass < 2; pass++) {
    perInv.fill(0);
    specPart = 0;
    implPart = 0;
    for (const cmds of seqs) {
      const spec = initSpec(t);
      const world = createWorld(t, driver);
      const probe = attachProbe(world);
      for (const [step, cmd] of cmds.entries()) {
        let t0 = performance.now();
        const expected = specStep(spec, cmd);
        let t1 = performance.now();
        specPart += t1 - t0;
        probe.begin();
        const actual = implStep(world, cmd);
        t0 = performance.now();
        implPart += t0 - t1;
        const ctx: CheckContext = { step, cmd, expected, actual, spec, world, anomalies: world.kernel.mem.takeAnomalies(), probe };
        sameObservation(expected, actual);
        for (let i = 0; i < INVARIANTS.length; i++) {
          t1 = performance.now();
          INVARIANTS[i]!.check(ctx);
          perInv[i]! += performance.now() - t1;
        }
      }
    }
  }
  sampleRss();

  const rate = (ms: number): string => `${Math.round((steps * 1000) / ms).toLocaleString('en-US')} steps/s`;
  console.log(`\n${platform}: ${seqs.length} sequences, ${steps} legal commands, ${INVARIANTS.length} invariants, ${violations} violating steps`);
  console.log(`  checked step (spec + impl + every invariant + record): ${rate(checkedMs)}  (${checkedMs.toFixed(0)} ms)`);
  console.log(`  impl only (same commands):                            ${rate(implMs)}  (${implMs.toFixed(0)} ms)`);
  console.log(`  spec only:                                            ${rate(specMs)}  (${specMs.toFixed(0)} ms)`);
  console.log(`  overhead (checked / impl-only time): ${(checkedMs / implMs).toFixed(2)}x`);
  const net = (ms: number): number => ms - bootMs;
  console.log(`  booting the worlds (createWorld x${seqs.length}): ${bootMs.toFixed(0)} ms; without it: checked ${rate(net(checkedMs))}, ` +
    `impl-only ${rate(net(implMs))}, overhead ${(net(checkedMs) / net(implMs)).toFixed(2)}x`);
  const invTotal = perInv.reduce((a, b) => a + b, 0);
  const total = specPart + implPart + invTotal;
  const pct = (ms: number): string => `${((100 * ms) / total).toFixed(1).padStart(5)}%  ${((ms * 1000) / steps).toFixed(2)} µs/step`;
  console.log(`  where the time goes (timed pass):`);
  console.log(`    spec step     ${pct(specPart)}`);
  console.log(`    impl step     ${pct(implPart)}`);
  const order = [...INVARIANTS.keys()].sort((a, b) => perInv[b]! - perInv[a]!);
  for (const i of order) console.log(`    ${INVARIANTS[i]!.id.padEnd(13)} ${pct(perInv[i]!)}  ${INVARIANTS[i]!.title}`);
};

for (const p of PLATFORMS) bench(p);
console.log(`\npeak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);
