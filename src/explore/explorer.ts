/**
 * The explorer behind `sva-harness explore` (src/harness/explorer.ts HarnessExplorer): each
 * platform's scope is explored (search.ts) under the time budget; a violation is replayed
 * with events on and written as a normal trace, which `replay` and `show` take.
 */
import { join } from 'node:path';
import type { ExploreOptions, ExploreSummary, HarnessExplorer, PlatformExploreSummary } from '../harness/index.js';
import { runSequence } from '../harness/index.js';
import { FAULTS } from '../shared/index.js';
import type { FaultId, Platform } from '../shared/index.js';
import { type Checked, bad, good, newTrace, traceFileName, writeTrace } from '../trace/index.js';
import { scopeTopology } from './scope.js';
import { exploreTopology } from './search.js';

/** Explore traces have no randomness; the trace format's seed field says so with 0. */
export const EXPLORE_SEED = 0;

const faultApplies = (fault: FaultId, platform: Platform): boolean => {
  const p = FAULTS.find((f) => f.id === fault)?.platform;
  return p === 'core' || p === platform;
};

const explorePlatform = (platform: Platform, opts: ExploreOptions): Checked<PlatformExploreSummary> => {
  const topology = scopeTopology(platform, opts.scope);
  if (!topology.ok) return topology;
  const started = performance.now();
  const deadline = opts.seconds === undefined ? undefined : started + opts.seconds * 1000;
  const r = exploreTopology(topology.value, {
    depth: opts.depth, order: opts.order, symmetry: opts.symmetry,
    ...(opts.fault === undefined ? {} : { fault: opts.fault }),
    ...(opts.kinds === undefined ? {} : { kinds: opts.kinds }),
    ...(deadline === undefined ? {} : { deadline }),
    progress: (p) => {
      const elapsedMs = performance.now() - started;
      opts.progress?.({
        platform, depth: p.depth, maxDepth: opts.depth, states: p.states, transitions: p.transitions, elapsedMs,
        done: opts.seconds === undefined ? 0 : Math.min(1, elapsedMs / (opts.seconds * 1000)),
      });
    },
  });
  const elapsedMs = performance.now() - started;
  const summary = {
    platform, topology: topology.value, distinctStates: r.distinctStates, transitions: r.transitions,
    depthComplete: r.depthComplete, timedOut: r.timedOut, elapsedMs,
  };
  if (r.violation === undefined || r.commands === undefined) return good(summary);
  const again = runSequence(topology.value, r.commands, { events: true, ...(opts.fault === undefined ? {} : { fault: opts.fault }) });
  if (!again.ok) return bad(`${platform}: the counterexample does not replay: ${again.error}`);
  const s = again.value.session;
  const trace = newTrace({
    topology: topology.value, seed: EXPLORE_SEED,
    ...(opts.fault === undefined ? {} : { fault: opts.fault }),
    commands: s.commands, steps: s.steps,
    ...(s.violation === undefined ? {} : { violation: s.violation }),
  });
  const written = writeTrace(join(opts.tracesDir, traceFileName(trace)), trace);
  if (!written.ok) return written;
  return good({ ...summary, violation: { invariant: r.violation.invariant, length: r.commands.length }, trace: written.value });
};

export const harnessExplorer: HarnessExplorer = {
  explore(opts: ExploreOptions): Checked<ExploreSummary> {
    if (!Number.isInteger(opts.depth) || opts.depth < 1) return bad(`depth must be a positive integer, not ${opts.depth}`);
    const platforms = opts.fault === undefined ? opts.platforms : opts.platforms.filter((p) => faultApplies(opts.fault!, p));
    if (platforms.length === 0) return bad(`fault ${opts.fault} applies to none of ${opts.platforms.join(', ')}`);
    const out: PlatformExploreSummary[] = [];
    for (const platform of platforms) {
      const r = explorePlatform(platform, opts);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return good({
      ...(opts.fault === undefined ? {} : { fault: opts.fault }),
      platforms: out,
      traces: out.flatMap((p) => (p.trace === undefined ? [] : [p.trace])),
    });
  },
};
