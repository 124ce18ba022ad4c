/**
 * A/B of two trees in one process (not part of npm run bench): this tree and `base` (another
 * checkout of the project with node_modules reachable, e.g. `git archive main | tar -x -C dir`
 * and a node_modules symlink) both loaded, their passes alternating (ABBA) over the same legal
 * commands with a forced GC between passes, so both see the same machine load. Prints the
 * median over rounds of (CPU time per step here) / (CPU time per step in base): on a shared
 * machine, steadier than two bench runs (an A/A run of one tree against a copy gives 0.98-1.01).
 *
 * Checked steps only: the impl-only loop of the second tree loaded runs ~3.5x slower than the
 * same tree loaded first (an A/A run gives 3.47, cause not found), while the checked loop's A/A
 * gives 0.98-1.02. Impl-only figures come from `npm run bench` (one tree per process).
 *
 * Usage: node --expose-gc --import tsx scripts/bench-ab.ts base-dir platform [sequences] [rounds]
 */
import fc from 'fast-check';
import { svaCommand } from '../models/index.js';
import * as H from '../src/harness/index.js';
import * as I from '../src/impl/index.js';
import { defaultTopology } from '../src/shared/index.js';
import type { Command, Platform } from '../src/shared/index.js';
import { initSpec, precondition } from '../src/spec/index.js';

const [base, platformArg, seqArg, roundArg] = process.argv.slice(2);
if (base === undefined) throw new Error('usage: bench-ab.ts base-dir platform [sequences] [rounds]');
const platform = (platformArg ?? 'vtd') as Platform;
const SEQUENCES = Number(seqArg ?? 40);
const ROUNDS = Number(roundArg ?? 100);
type Harness = Pick<typeof H, 'openSession' | 'checkedStep' | 'driverFor'>;
const HB = (await import(`${base}/src/harness/index.js`)) as Harness;

const t = defaultTopology(platform);
const raw = fc.sample(fc.array(svaCommand(t).map((c) => c.cmd), { minLength: 100, maxLength: 400 }), { seed: 4242, numRuns: SEQUENCES });
const seqs = raw.map((cmds) => {
  const s = initSpec(t);
  const w = I.createWorld(t, H.driverFor(platform));
  const legal: Command[] = [];
  for (let i = 0; i < t.mms; i++) {
    const spawn: Command = { kind: 'spawn', mm: i };
    H.stepBoth(s, w, spawn);
    legal.push(spawn);
  }
  for (const c of cmds) if (precondition(s, c)) {
    H.stepBoth(s, w, c);
    legal.push(c);
  }
  return legal;
});
const steps = seqs.reduce((a, s) => a + s.length, 0);

/** CPU µs per checked step of one pass over every sequence. */
const pass = (h: Harness): number => {
  const c = process.cpuUsage();
  for (const cmds of seqs) {
    const s = h.openSession(t);
    for (const x of cmds) h.checkedStep(s, x);
  }
  const u = process.cpuUsage(c);
  return (u.user + u.system) / steps;
};
const gc = (globalThis as { gc?: () => void }).gc;
const median = (xs: readonly number[]): number => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
for (let k = 0; k < 3; k++) {
  pass(H);
  pass(HB);
}
const here: number[] = [];
const there: number[] = [];
const ratio: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  gc?.();
  const first = r % 2 === 0 ? pass(H) : pass(HB);
  gc?.();
  const second = r % 2 === 0 ? pass(HB) : pass(H);
  const [a, b] = r % 2 === 0 ? [first, second] : [second, first];
  here.push(a);
  there.push(b);
  ratio.push(a / b);
}
console.log(`${platform} checked: ${steps} steps x ${ROUNDS} rounds: here ${median(here).toFixed(2)} µs/step, base ${median(there).toFixed(2)}; ` +
  `here/base median ${median(ratio).toFixed(3)}${gc === undefined ? ' (run with --expose-gc for a GC between passes)' : ''}`);
