import { createHash } from 'node:crypto';
import { stableJson } from './serialize.js';
import type { Trace } from './trace.js';

/**
 * The identity of a counterexample across CI shards: a hash of what makes it the same bug,
 * the topology, the fault, the (shrunk) command list and the invariant broken, and not of
 * where it was found (seed, fast-check path) or of the harness version that wrote it. Two
 * shards that shrink to the same sequence therefore report one finding.
 */
export const counterexampleKey = (t: Trace): string =>
  createHash('sha256')
    .update(stableJson({ topology: t.topology, fault: t.fault ?? null, commands: t.commands, invariant: t.violation?.invariant ?? null }))
    .digest('hex')
    .slice(0, 16);
