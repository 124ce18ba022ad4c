/**
 * A digest of the sequential behaviour: fixed seeds, state-aware runs on every platform with
 * the event log on (every driver call, cache fill, eviction and command), each step's commands,
 * observations and events hashed. Two trees that print the same digests ran the same steps in
 * the same order with the same effects: the check that a refactor of the ported code (such as
 * the conversion to tasks with yield points) left sequential traces byte-identical.
 *
 *   node --import tsx scripts/trace-digest.ts [runs per platform, default 300]
 */
import { createHash } from 'node:crypto';
import { openSession } from '../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../src/shared/index.js';
import { runGenerated } from '../models/generate.js';
import { Rng } from '../models/rng.js';
import { RunStats } from '../models/stats.js';
import { DEFAULT_WEIGHTS } from '../models/weights.js';

const runs = Number(process.argv[2] ?? 300);
for (const platform of PLATFORMS) {
  const h = createHash('sha256');
  let steps = 0;
  let violations = 0;
  for (let seed = 1; seed <= runs; seed++) {
    const session = openSession(defaultTopology(platform), { events: true });
    runGenerated(session, new Rng(seed * 2654435761), { weights: DEFAULT_WEIGHTS, maxCommands: 60, swarm: 0.5 }, new RunStats());
    for (const [i, step] of session.steps.entries()) h.update(JSON.stringify([session.commands[i], step]));
    steps += session.steps.length;
    if (session.violation !== undefined) violations++;
  }
  console.log(`${platform.padEnd(7)} ${runs} runs ${steps} steps ${violations} violating  sha256 ${h.digest('hex').slice(0, 32)}`);
}
