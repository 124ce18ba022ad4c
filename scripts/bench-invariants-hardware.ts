/**
 * Cost of each hardware invariant per checked step, on random legal sequences of the small
 * topologies the tests use (both platforms). Each step's checks are repeated REPEAT times in a
 * tight loop (they only read) so that the timer's own cost does not swamp microsecond work.
 * Run: npx tsx scripts/bench-invariants-hardware.ts
 * Wall-clock time is used only to report, never to decide anything the harness computes.
 */
import { HARDWARE_INVARIANTS } from '../properties/hardware/index.js';
import type { CheckContext } from '../properties/invariant.js';
import type { Platform } from '../src/shared/index.js';
import { bench, randomWalk, walkTopologies } from '../test/properties/hardware/helpers.js';

const STEPS = 4000;
const REPEAT = 20;

for (const platform of ['vtd', 'smmuv3'] as Platform[]) {
  const spent = new Float64Array(HARDWARE_INVARIANTS.length);
  let steps = 0;
  let implMs = 0;
  for (const [t, topology] of walkTopologies(platform).entries()) {
    const b = bench(platform, topology);
    let last = performance.now();
    randomWalk(b, 1000 + t, STEPS, (ctx: CheckContext) => {
      implMs += performance.now() - last;
      steps++;
      for (let i = 0; i < HARDWARE_INVARIANTS.length; i++) {
        const inv = HARDWARE_INVARIANTS[i]!;
        const t0 = performance.now();
        for (let r = 0; r < REPEAT; r++) inv.check(ctx);
        spent[i]! += (performance.now() - t0) / REPEAT;
      }
      last = performance.now();
    });
  }
  let total = 0;
  console.log(`${platform}: ${steps} steps over ${walkTopologies(platform).length} topologies`);
  HARDWARE_INVARIANTS.forEach((inv, i) => {
    const us = (spent[i]! * 1000) / steps;
    total += us;
    console.log(`  ${inv.id.padEnd(10)} ${inv.title.padEnd(52)} ${us.toFixed(3).padStart(7)} µs/step`);
  });
  console.log(`  ${'all'.padEnd(63)} ${total.toFixed(3).padStart(7)} µs/step  (${(1e6 / total / 1000).toFixed(0)} k steps/s for the hardware set alone)`);
  console.log(`  ${'(spec + impl step + bench harness, for scale)'.padEnd(63)} ${((implMs * 1000) / steps).toFixed(3).padStart(7)} µs/step`);
}
