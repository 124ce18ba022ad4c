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
 * Commands come from this tree's generator and spec, unless `AB_COMMANDS=base`: then from the
 * base's, for a base that cannot run this tree's commands (a tree older than a command kind).
 * That is the fair form of "keeps N% of the older tree's checked steps/s": both trees on the
 * older tree's command mix (each bench run draws its own, and the mix moved with the weights).
 *
 * Usage: [AB_COMMANDS=base] node --expose-gc --import tsx scripts/bench-ab.ts base-dir platform [sequences] [rounds]
 */
import fc from 'fast-check';
import * as M from '../models/index.js';
import * as H from '../src/harness/index.js';
import * as I from '../src/impl/index.js';
import * as S from '../src/shared/index.js';
import type { Command, Platform } from '../src/shared/index.js';
import * as P from '../src/spec/index.js';

const [base, platformArg, seqArg, roundArg] = process.argv.slice(2);
if (base === undefined) throw new Error('usage: bench-ab.ts base-dir platform [sequences] [rounds]');
const platform = (platformArg ?? 'vtd') as Platform;
const SEQUENCES = Number(seqArg ?? 40);
const ROUNDS = Number(roundArg ?? 100);
type Harness = Pick<typeof H, 'openSession' | 'checkedStep' | 'driverFor'>;
const HB = (await import(`${base}/src/harness/index.js`)) as Harness;
/** Where the commands come from: this tree, or the base (AB_COMMANDS=base). */
const fromBase = process.env.AB_COMMANDS === 'base';
const load = async <T>(path: string, here: T): Promise<T> => (fromBase ? ((await import(`${base}/${path}`)) as T) : here);
const G = await load('src/harness/index.js', H);
const GI = await load('src/impl/index.js', I);
const { svaCommand } = await load('models/index.js', M);
const { initSpec, precondition } = await load('src/spec/index.js', P);
const { defaultTopology } = await load('src/shared/index.js', S);

const t = defaultTopology(platform);
const raw = fc.sample(fc.array(svaCommand(t).map((c) => c.cmd), { minLength: 100, maxLength: 400 }), { seed: 4242, numRuns: SEQUENCES });
/**
 * Legal command sequences. With the base's commands a command is kept only if both trees'
 * specs allow it (both stepped): a rule that changed since (an hwpt attached twice, say) would
 * otherwise send one tree down a caller-contract throw and every later step of that sequence
 * down the violation path, and the two trees would not be doing the same work.
 */
const seqs = raw.map((cmds) => {
  const s = initSpec(t);
  const w = GI.createWorld(t, G.driverFor(platform));
  const here = fromBase ? { s: P.initSpec(t), w: I.createWorld(t, H.driverFor(platform)) } : undefined;
  const legal: Command[] = [];
  const take = (c: Command): void => {
    G.stepBoth(s, w, c);
    if (here !== undefined) H.stepBoth(here.s, here.w, c);
    legal.push(c);
  };
  for (let i = 0; i < t.mms; i++) take({ kind: 'spawn', mm: i });
  for (const c of cmds) if (precondition(s, c) && (here === undefined || P.precondition(here.s, c))) take(c);
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
console.log(`${platform} checked${fromBase ? ' (the base\'s commands)' : ''}: ${steps} steps x ${ROUNDS} rounds: here ${median(here).toFixed(2)} µs/step, base ${median(there).toFixed(2)}; ` +
  `here/base median ${median(ratio).toFixed(3)}${gc === undefined ? ' (run with --expose-gc for a GC between passes)' : ''}`);
