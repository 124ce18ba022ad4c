/**
 * A profiling driver (not part of npm run bench): the checked loop (or the impl-only loop) of
 * one platform, repeated, to run under `node --cpu-prof --import tsx scripts/bench-profile.ts`.
 * Prints CPU µs per step so that two builds can be compared on a loaded machine.
 *
 * Usage: node --import tsx scripts/bench-profile.ts platform [checked|impl] [sequences] [passes]
 */
import { checkedStep, driverFor, openSession } from '../src/harness/index.js';
import { createWorld, implStep } from '../src/impl/index.js';
import { defaultTopology } from '../src/shared/index.js';
import type { Platform } from '../src/shared/index.js';
import { legalSequences } from './benchSequences.js';

const platform = (process.argv[2] ?? 'vtd') as Platform;
const mode = process.argv[3] ?? 'checked';
const SEQUENCES = Number(process.argv[4] ?? 200);
const PASSES = Number(process.argv[5] ?? 10);
const t = defaultTopology(platform);
const driver = driverFor(platform);
const seqs = legalSequences(t, 4242, SEQUENCES);
const steps = seqs.reduce((a, s) => a + s.length, 0);
const pass = (): void => {
  for (const cmds of seqs) {
    if (mode === 'impl') {
      const w = createWorld(t, driver);
      for (const c of cmds) implStep(w, c);
    } else {
      const s = openSession(t);
      for (const c of cmds) checkedStep(s, c);
    }
  }
};
pass();
const per: number[] = [];
for (let i = 0; i < PASSES; i++) {
  const c = process.cpuUsage();
  pass();
  const u = process.cpuUsage(c);
  per.push((u.user + u.system) / steps);
}
per.sort((a, b) => a - b);
console.log(`${platform} ${mode}: ${steps} steps, CPU µs/step median ${per[per.length >> 1]!.toFixed(2)} (min ${per[0]!.toFixed(2)}) = ${Math.round(1e6 / per[per.length >> 1]!).toLocaleString('en-US')} steps per CPU second`);
