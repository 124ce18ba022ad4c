/**
 * Benchmark (npm run bench): checked steps/s next to an impl-only loop on the same commands,
 * on the default topology of each platform, and where the time of a checked step goes; then
 * the end-to-end `run` loop (generation, checking and bookkeeping: what `sva-harness run`
 * does) with `run`'s default concurrent groups and sequentially for both generators, and the exhaustive explorer's states/s.
 *
 * Commands are generated once (fixed seed) and filtered through the spec's preconditions
 * BEFORE any timing, so every loop sees exactly the same legal commands. Each loop is warmed
 * up, then repeated (impl-only and checked alternate, so drift hits both) and the median is
 * reported. Booting a world is part of every real run, so each figure is given with it and
 * without it: the loops time the boot (createWorld / openSession) and the steps of each
 * sequence separately. Nothing is kept between sequences, so garbage is what a real run makes.
 *
 * Then the concurrent figures (scripts/benchConcurrent.ts): checked groups and checked yields per
 * second under the random and PCT schedulers, and the preemption-bounded explorer's schedules
 * per second on one fixed group. Every figure also goes to bench/speed.json (machine-readable).
 *
 * Usage: npm run bench [-- sequences [repetitions [explore-depth]]]
 * BENCH_ONLY=steps,run,explore,concurrent runs only those sections; BENCH_PLATFORMS=vtd,amd only those platforms.
 */
import type { CheckContext } from '../properties/invariant.js';
import { attachProbe } from '../properties/probe.js';
import { INVARIANTS } from '../properties/registry.js';
import { RunStats, searchForViolation, topologyFor } from '../models/index.js';
import { DEFAULT_GROUP_RATE, type GroupOptions } from '../models/groups.js';
import type { Generator } from '../models/property.js';
import { CI_SCOPES, DEFAULT_SCOPE, exploreTopology, scopeTopology } from '../src/explore/index.js';
import { checkedStep, driverFor, injectedExpectation, injectionArmed, openSession } from '../src/harness/index.js';
import { createWorld, implStep } from '../src/impl/index.js';
import { writeFileAtomic } from '../src/trace/index.js';
import { explorePass, groupPass } from './benchConcurrent.js';
import { legalSequences as generateSequences } from './benchSequences.js';
import { PLATFORMS, defaultTopology, sameObservation } from '../src/shared/index.js';
import type { Command, Platform, Topology } from '../src/shared/index.js';
import { initSpec, specStep } from '../src/spec/index.js';

const SEQUENCES = Number(process.argv[2] ?? 400);
const REPS = Number(process.argv[3] ?? 7);
const EXPLORE_DEPTH = Number(process.argv[4] ?? 6);
/** The explore budget the issue sets for the scope 1 IOMMU, 2 devices, 2 mms, 2 pages. */
const EXPLORE_SECONDS = 60;
const WARMUP = 2;
const SEED = 4242;
const MiB = 2 ** 20;

const legalSequences = (t: Topology): Command[][] => generateSequences(t, SEED, SEQUENCES);

/** One pass over every sequence: ms spent booting and ms spent stepping. */
interface Pass {
  boot: number;
  steps: number;
  /** CPU seconds of the whole pass (boot included): on a loaded machine, steadier than wall time. */
  cpu: number;
}

const implPass = (t: Topology, seqs: readonly Command[][]): Pass => {
  const driver = driverFor(t.platform);
  const p: Pass = { boot: 0, steps: 0, cpu: 0 };
  const cpu = process.cpuUsage();
  for (const cmds of seqs) {
    const t0 = performance.now();
    const w = createWorld(t, driver);
    const t1 = performance.now();
    for (let i = 0; i < cmds.length; i++) implStep(w, cmds[i]!);
    p.boot += t1 - t0;
    p.steps += performance.now() - t1;
  }
  p.cpu = cpuSeconds(cpu);
  return p;
};

let violations = 0;
const checkedPass = (t: Topology, seqs: readonly Command[][]): Pass => {
  const p: Pass = { boot: 0, steps: 0, cpu: 0 };
  const cpu = process.cpuUsage();
  violations = 0;
  for (const cmds of seqs) {
    const t0 = performance.now();
    const s = openSession(t);
    const t1 = performance.now();
    for (let i = 0; i < cmds.length; i++) if (checkedStep(s, cmds[i]!).length > 0) violations++;
    p.boot += t1 - t0;
    p.steps += performance.now() - t1;
  }
  p.cpu = cpuSeconds(cpu);
  return p;
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** The same checked loop with each phase timed separately (timer overhead included). */
const breakdown = (t: Topology, seqs: readonly Command[][]): { spec: number; impl: number; perInv: Float64Array } => {
  const driver = driverFor(t.platform);
  const perInv = new Float64Array(INVARIANTS.length);
  let spec = 0;
  let impl = 0;
  for (const cmds of seqs) {
    const state = initSpec(t);
    const world = createWorld(t, driver);
    const probe = attachProbe(world);
    for (const [step, cmd] of cmds.entries()) {
      let t0 = performance.now();
      let t1: number;
      let expected, actual;
      if (injectionArmed(state)) {
        // The checked step's order under an injection: the kernel first.
        probe.begin();
        actual = implStep(world, cmd);
        t1 = performance.now();
        impl += t1 - t0;
        expected = injectedExpectation(state, world, cmd, actual);
        t0 = performance.now();
        spec += t0 - t1;
      } else {
        expected = specStep(state, cmd);
        t1 = performance.now();
        spec += t1 - t0;
        probe.begin();
        actual = implStep(world, cmd);
        t0 = performance.now();
        impl += t0 - t1;
      }
      const ctx: CheckContext = { step, cmd, expected, actual, spec: state, world, anomalies: world.kernel.mem.takeAnomalies(), probe };
      sameObservation(expected, actual);
      for (let i = 0; i < INVARIANTS.length; i++) {
        t1 = performance.now();
        INVARIANTS[i]!.check(ctx);
        perInv[i]! += performance.now() - t1;
      }
    }
  }
  return { spec, impl, perInv };
};

/** Every figure printed, for bench/speed.json. */
const results: Record<string, unknown> = {};
const put = (section: string, key: string, value: unknown): void => {
  ((results[section] ??= {}) as Record<string, unknown>)[key] = value;
};

const bench = (platform: Platform): void => {
  const t = defaultTopology(platform);
  const seqs = legalSequences(t);
  const steps = seqs.reduce((a, s) => a + s.length, 0);

  for (let i = 0; i < WARMUP; i++) {
    implPass(t, seqs);
    checkedPass(t, seqs);
  }
  const impl: Pass[] = [];
  const checked: Pass[] = [];
  for (let i = 0; i < REPS; i++) {
    impl.push(implPass(t, seqs));
    checked.push(checkedPass(t, seqs));
  }

  const withBoot = (ps: Pass[]): number => median(ps.map((p) => p.boot + p.steps));
  const noBoot = (ps: Pass[]): number => median(ps.map((p) => p.steps));
  const boot = (ps: Pass[]): number => median(ps.map((p) => p.boot));
  const spread = (ps: Pass[]): string => {
    const xs = ps.map((p) => p.boot + p.steps);
    return `±${((100 * (Math.max(...xs) - Math.min(...xs))) / 2 / median(xs)).toFixed(0)}%`;
  };
  const rate = (ms: number): string => `${Math.round((steps * 1000) / ms).toLocaleString('en-US').padStart(9)} steps/s`;

  console.log(`\n${platform}: ${seqs.length} sequences, ${steps} legal commands, ${INVARIANTS.length} invariants, ${violations} violating steps; median of ${REPS} after ${WARMUP} warm-up passes`);
  console.log(`                              with world creation              without (steps only)`);
  console.log(`  checked (spec+impl+inv+rec) ${rate(withBoot(checked))} ${spread(checked).padStart(5)}      ${rate(noBoot(checked))}`);
  console.log(`  impl only (same commands)   ${rate(withBoot(impl))} ${spread(impl).padStart(5)}      ${rate(noBoot(impl))}`);
  console.log(`  overhead (checked/impl)     ${(withBoot(checked) / withBoot(impl)).toFixed(2).padStart(9)}x                  ${(noBoot(checked) / noBoot(impl)).toFixed(2).padStart(9)}x`);
  const perSecond = (ms: number): number => Math.round((steps * 1000) / ms);
  put('steps', platform, {
    sequences: seqs.length, steps, repetitions: REPS,
    checked: { withBoot: perSecond(withBoot(checked)), stepsOnly: perSecond(noBoot(checked)) },
    implOnly: { withBoot: perSecond(withBoot(impl)), stepsOnly: perSecond(noBoot(impl)) },
    ratio: { withBoot: withBoot(checked) / withBoot(impl), stepsOnly: noBoot(checked) / noBoot(impl) },
    cpu: { checked: Math.round(steps / median(checked.map((p) => p.cpu))), implOnly: Math.round(steps / median(impl.map((p) => p.cpu))) },
  });
  console.log(`  per CPU second (steps only)  checked ${Math.round(steps / median(checked.map((p) => p.cpu))).toLocaleString('en-US')}, impl only ${Math.round(steps / median(impl.map((p) => p.cpu))).toLocaleString('en-US')}`);
  console.log(`  boot per sequence: createWorld ${((boot(impl) * 1000) / seqs.length).toFixed(1)} µs, openSession ${((boot(checked) * 1000) / seqs.length).toFixed(1)} µs`);

  const { spec, impl: implPart, perInv } = breakdown(t, seqs);
  const invTotal = perInv.reduce((a, b) => a + b, 0);
  const total = spec + implPart + invTotal;
  const pct = (ms: number): string => `${((100 * ms) / total).toFixed(1).padStart(5)}%  ${((ms * 1000) / steps).toFixed(2)} µs/step`;
  // The spec alone, from this pass: with an injection armed the spec needs the kernel's
  // result (injectedExpectation), so a spec-only loop cannot run these sequences by itself.
  console.log(`  spec only                   ${rate(spec)} (from the timed pass below)`);
  put('steps', platform, { ...(results.steps as Record<string, object>)[platform], specOnly: perSecond(spec) });
  console.log(`  where the stepping time goes (one timed pass; timer overhead included):`);
  console.log(`    spec step     ${pct(spec)}`);
  console.log(`    impl step     ${pct(implPart)}`);
  const order = [...INVARIANTS.keys()].sort((a, b) => perInv[b]! - perInv[a]!);
  for (const i of order) console.log(`    ${INVARIANTS[i]!.id.padEnd(13)} ${pct(perInv[i]!)}  ${INVARIANTS[i]!.title}`);
  console.log(`  RSS now ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB, heap used ${(process.memoryUsage().heapUsed / MiB).toFixed(0)} MiB`);
};

/**
 * The `run` loop end to end: searchForViolation on the correct impl, as `sva-harness run`
 * calls it, for a fixed number of runs. Steps/s counts checked steps over the whole wall time,
 * generation, fast-check and (for `commands`) the rejected commands included.
 */
/** CPU seconds of this process (user + system): on a shared machine, the one core it had. */
const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
};

/** The groups of a default `run` (src/cli/runOptions.ts DEFAULT_GROUPS, --sched mix). */
const RUN_GROUPS: GroupOptions = { rate: DEFAULT_GROUP_RATE, scheduler: 'mix' };

interface LoopRate {
  readonly rate: number;
  readonly cpuRate: number;
  readonly executed: number;
}

const runLoop = (platform: Platform, generator: Generator, mode: 'random' | 'default', runs: number, groups?: GroupOptions): LoopRate => {
  const once = (): LoopRate => {
    const stats = new RunStats();
    const cpu = process.cpuUsage();
    const out = searchForViolation({ topologies: topologyFor(platform, { mode }), seed: SEED, budget: { runs }, stats, generator, ...(groups === undefined ? {} : { groups }) });
    if (out.counterexample !== undefined) throw new Error(`bench: the correct impl failed on ${platform}`);
    return { rate: (stats.steps * 1000) / out.elapsedMs, cpuRate: stats.steps / cpuSeconds(cpu), executed: stats.executedFraction() };
  };
  once();
  const rs = Array.from({ length: 3 }, once);
  return { rate: median(rs.map((r) => r.rate)), cpuRate: median(rs.map((r) => r.cpuRate)), executed: rs[0]!.executed };
};

const runLoops = (): void => {
  console.log('\nend-to-end run loop (generation included), median of 3 after a warm-up, 500 runs each:');
  for (const platform of PLATFORMS) {
    for (const mode of ['default', 'random'] as const) {
      // `run`'s default: the state-aware generator with concurrent groups; then each generator sequentially.
      const loops = [['state+groups', 'state', RUN_GROUPS], ['state', 'state', undefined], ['commands', 'commands', undefined]] as const;
      for (const [label, generator, groups] of loops) {
        const r = runLoop(platform, generator, mode, 500, groups);
        console.log(`  ${platform.padEnd(7)} ${mode.padEnd(8)} topology  ${label.padEnd(12)} ${Math.round(r.rate).toLocaleString('en-US').padStart(9)} checked steps/s  ` +
          `(${Math.round(r.cpuRate).toLocaleString('en-US').padStart(9)} per CPU second; ${(r.executed * 100).toFixed(1)}% of generated commands executed)`);
      }
    }
  }
};

const exploreRates = (): void => {
  console.log(`\nexplore, breadth first, symmetry on, every kind:`);
  for (const platform of PLATFORMS) {
    const ci = CI_SCOPES[platform];
    if (ci !== undefined) {
      const t = scopeTopology(platform, ci.scope);
      if (!t.ok) throw new Error(t.error);
      const t0 = performance.now();
      const r = exploreTopology(t.value, { depth: ci.depth });
      const ms = performance.now() - t0;
      console.log(`  ${platform.padEnd(7)} CI scope depth ${ci.depth}: ${r.distinctStates} states, ${r.transitions} transitions in ${(ms / 1000).toFixed(2)} s: ` +
        `${Math.round((r.distinctStates * 1000) / ms).toLocaleString('en-US')} states/s, ${Math.round((r.transitions * 1000) / ms).toLocaleString('en-US')} transitions/s`);
    }
    const t = scopeTopology(platform, DEFAULT_SCOPE);
    if (!t.ok) throw new Error(t.error);
    const t0 = performance.now();
    const cpu = process.cpuUsage();
    const r = exploreTopology(t.value, { depth: EXPLORE_DEPTH, deadline: t0 + EXPLORE_SECONDS * 1000 });
    const ms = performance.now() - t0;
    console.log(`  ${platform.padEnd(7)} 1 IOMMU, 2 devices, 2 mms, 2 pages, depth ${EXPLORE_DEPTH}, ${EXPLORE_SECONDS} s budget: ` +
      `depth ${r.depthComplete} complete${r.timedOut ? ' (budget spent)' : ''}, ${r.distinctStates} states, ${r.transitions} transitions in ` +
      `${(ms / 1000).toFixed(1)} s: ${Math.round((r.distinctStates * 1000) / ms).toLocaleString('en-US')} states/s ` +
      `(${Math.round(r.distinctStates / cpuSeconds(cpu)).toLocaleString('en-US')} per CPU second)`);
  }
};

/** Sequences of the concurrent workload (the first of the bench's legal sequences). */
const GROUP_SEQUENCES = 60;
/** The explorer's fixed group: every schedule within this many preemptions, at most EXPLORE_LIMIT of them. */
const EXPLORE_PREEMPTIONS = 3;
const EXPLORE_LIMIT = 5000;

const concurrent = (platform: Platform): void => {
  const t = defaultTopology(platform);
  const seqs = legalSequences(t).slice(0, GROUP_SEQUENCES);
  groupPass(platform, seqs.slice(0, 10), SEED);
  const passes = Array.from({ length: 3 }, () => groupPass(platform, seqs, SEED));
  console.log(`\n${platform}: concurrent groups (2-3 commands drawn as models/groups.ts does, every 4th step of ${seqs.length} sequences), median of 3:`);
  const out: Record<string, unknown> = {};
  for (const k of [0, 1]) {
    const r = passes[0]![k]!;
    const ms = median(passes.map((p) => p[k]!.ms));
    const cpuMs = median(passes.map((p) => p[k]!.cpuMs));
    const g = (r.groups * 1000) / ms;
    const y = (r.points * 1000) / ms;
    console.log(`  ${r.scheduler.padEnd(7)} ${r.groups} groups, ${r.points} checked yields, ${r.violating} violating${r.violating > 0 ? ` (${r.invariants.join(', ')})` : ''}: ` +
      `${Math.round(g).toLocaleString('en-US').padStart(7)} groups/s, ${Math.round(y).toLocaleString('en-US').padStart(8)} checked yields/s ` +
      `(per CPU second: ${Math.round((r.groups * 1000) / cpuMs).toLocaleString('en-US')} groups, ${Math.round((r.points * 1000) / cpuMs).toLocaleString('en-US')} yields)`);
    out[r.scheduler] = { groups: r.groups, yields: r.points, violating: r.violating, invariants: r.invariants, groupsPerSecond: Math.round(g), yieldsPerSecond: Math.round(y),
      groupsPerCpuSecond: Math.round((r.groups * 1000) / cpuMs), yieldsPerCpuSecond: Math.round((r.points * 1000) / cpuMs) };
  }
  explorePass(platform, EXPLORE_PREEMPTIONS, 50);
  const ex = Array.from({ length: 3 }, () => explorePass(platform, EXPLORE_PREEMPTIONS, EXPLORE_LIMIT));
  const e = ex[0]!;
  const ems = median(ex.map((x) => x.ms));
  const ecpu = median(ex.map((x) => x.cpuMs));
  console.log(`  explorer: two binds of one mm, ≤ ${e.preemptions} preemptions: ${e.schedules} schedules${e.complete ? ' (every one)' : ' (limit reached)'} in ${(ems / 1000).toFixed(2)} s: ` +
    `${Math.round((e.schedules * 1000) / ems).toLocaleString('en-US')} schedules/s (${Math.round((e.schedules * 1000) / ecpu).toLocaleString('en-US')} per CPU second)`);
  out.explorer = { preemptions: e.preemptions, schedules: e.schedules, complete: e.complete, schedulesPerSecond: Math.round((e.schedules * 1000) / ems),
    schedulesPerCpuSecond: Math.round((e.schedules * 1000) / ecpu) };
  put('concurrent', platform, out);
};

const only = process.env.BENCH_ONLY?.split(',');
const platforms = process.env.BENCH_PLATFORMS?.split(',') ?? PLATFORMS;
const section = (name: string): boolean => only === undefined || only.includes(name);
if (section('steps')) for (const p of PLATFORMS) if (platforms.includes(p)) bench(p);
if (section('run')) runLoops();
if (section('explore')) exploreRates();
if (section('concurrent')) for (const p of PLATFORMS) if (platforms.includes(p)) concurrent(p);
{
  const { execSync } = await import('node:child_process');
  const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
  const json = { benchFormat: 1, generatedAt: new Date().toISOString(), node: process.version, loadAverage: load, args: { sequences: SEQUENCES, repetitions: REPS }, commit: (() => { try { return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { return 'unknown'; } })(), ...results };
  const w = writeFileAtomic('bench/speed.json', `${JSON.stringify(json, null, 2)}\n`);
  console.log(w.ok ? `wrote ${w.value} (load average at the end: ${load})` : `bench: ${w.error}`);
}
// maxRSS is in KiB: the process's true peak, not a sample.
console.log(`\npeak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
