/**
 * First violation per run with concurrent groups (rate 0.15, mix) on drawn VT-d topologies, with
 * or without a fault, and how many {replacePasid, dmaPasid} groups ran: how often the oracle
 * (LIN) sees a race fault before a sequential invariant does.
 *
 *   node --import tsx scripts/group-tally.ts [runs, default 200] [fault]
 */
import fc from 'fast-check';
import { openSession } from '../src/harness/index.js';
import type { FaultId } from '../src/shared/index.js';
import { runGenerated } from '../models/generate.js';
import { Rng } from '../models/rng.js';
import { RunStats } from '../models/stats.js';
import { DEFAULT_WEIGHTS } from '../models/weights.js';
import { topologyArb } from '../models/topology.js';
const runs = Number(process.argv[2] ?? 200);
const fault = process.argv[3] as FaultId | undefined;
const tops = fc.sample(topologyArb(['vtd']), { seed: 42, numRuns: runs });
const tally = new Map<string, number>();
let pairs = 0, lin = 0;
for (let seed = 1; seed <= runs; seed++) {
  const session = openSession(tops[seed - 1]!, fault === undefined ? {} : { fault });
  runGenerated(session, new Rng(seed * 2654435761), { weights: DEFAULT_WEIGHTS, maxCommands: 60, swarm: 0.5, groups: { rate: 0.15, scheduler: 'mix' } }, new RunStats());
  for (const g of session.groups) {
    const kinds = session.commands.slice(g.at, g.at + g.size).map((c) => c.kind);
    if (kinds.includes('replacePasid') && kinds.includes('dmaPasid')) pairs++;
  }
  const v = session.violation?.invariant ?? 'none';
  if (v === 'LIN' && lin++ === 0) console.log(`first LIN at seed ${seed}:\n${session.violation!.message}`);
  tally.set(v, (tally.get(v) ?? 0) + 1);
}
console.log(fault ?? 'mainline', 'runs', runs, '{replace, dmaPasid} groups', pairs, JSON.stringify([...tally].sort()));
