import { describe, expect, test } from 'vitest';
import { DEFAULT_SCOPE, exploreTopology, scopeTopology } from '../../src/explore/index.js';
import { runSequence } from '../../src/harness/index.js';
import { FAULTS } from '../../src/shared/index.js';
import type { FaultId, Platform, Topology } from '../../src/shared/index.js';

const scope = (platform: Platform): Topology => {
  const t = scopeTopology(platform, DEFAULT_SCOPE);
  if (!t.ok) throw new Error(t.error);
  return t.value;
};

/** Faults whose hand-written shortest sequence (test/faults/Bxx.test.ts) is 3 commands and fits the scope. */
const SHORT: readonly FaultId[] = ['B01', 'B02', 'B03', 'B04', 'B08', 'B15'];
const platformsOf = (f: FaultId): Platform[] => {
  const p = FAULTS.find((x) => x.id === f)!.platform;
  return p === 'core' ? ['vtd', 'smmuv3', 'amd'] : [p];
};
const cases = SHORT.flatMap((f) => platformsOf(f).map((p) => [f, p] as const));

describe('Exhaustive exploration', () => {
  test.each(cases)('%s on %s: breadth first finds it at the hand-written length (3), and the trace replays', (fault, platform) => {
    const t = scope(platform);
    const r = exploreTopology(t, { depth: 3, fault });
    expect(r.commands).toHaveLength(3);
    expect(r.depthComplete).toBe(2);
    expect(FAULTS.find((f) => f.id === fault)!.expected).toContain(r.violation!.invariant);
    const again = runSequence(t, r.commands!, { fault });
    expect(again.ok && again.value.session.violation?.invariant).toBe(r.violation!.invariant);
    // The correct kernel passes the same sequence.
    const fixed = runSequence(t, r.commands!);
    expect(fixed.ok && fixed.value.session.violation).toBeUndefined();
  });

  test('Depth first finds B03 too, and its counterexample is shortened to the breadth-first length', () => {
    const t = scope('vtd');
    const bfs = exploreTopology(t, { depth: 4, fault: 'B03' });
    const dfs = exploreTopology(t, { depth: 4, fault: 'B03', order: 'dfs' });
    expect(dfs.commands).toHaveLength(bfs.commands!.length);
    expect(dfs.violation?.invariant).toBe(bfs.violation?.invariant);
  });

  test('Depth first and breadth first agree that the clean scope has no violation to depth 2, over the same states', () => {
    // Depth 2: depth 3 cost 10 s of CPU here, and the CI scopes explore that depth breadth first.
    const t = scope('smmuv3');
    const bfs = exploreTopology(t, { depth: 2 });
    const dfs = exploreTopology(t, { depth: 2, order: 'dfs' });
    expect(bfs.violation).toBeUndefined();
    expect(dfs.violation).toBeUndefined();
    expect(dfs.depthComplete).toBe(2);
    expect(dfs.distinctStates).toBe(bfs.distinctStates);
  });

  test('Symmetry reduction explores fewer states and finds the same faults at the same depths', () => {
    const t = scope('vtd');
    // Depth 2 (421 states against 833) shows the reduction; depth 3 costs 45 s of CPU, and the
    // symmetric depth-3 count of this scope is ciScopes.test.ts's recorded 8,113 already.
    const on = exploreTopology(t, { depth: 2 });
    const off = exploreTopology(t, { depth: 2, symmetry: false });
    expect(on.depthComplete).toBe(2);
    expect(off.depthComplete).toBe(2);
    expect(on.distinctStates).toBeLessThan(off.distinctStates);
    for (const fault of ['B01', 'B02', 'B04', 'B08'] as const) {
      const a = exploreTopology(t, { depth: 3, fault });
      const b = exploreTopology(t, { depth: 3, fault, symmetry: false });
      expect([a.commands?.length, a.violation?.invariant]).toEqual([b.commands?.length, b.violation?.invariant]);
    }
  });

  test('The same scope gives the same counts and the same counterexample every time', () => {
    const t = scope('vtd');
    const once = () => {
      const r = exploreTopology(t, { depth: 3, fault: 'B02' });
      return JSON.stringify([r.distinctStates, r.transitions, r.commands]);
    };
    expect(once()).toBe(once());
  });

  test('A spent time budget stops the search and claims only the depths it finished', () => {
    const r = exploreTopology(scope('vtd'), { depth: 6, deadline: performance.now() - 1 });
    expect(r.timedOut).toBe(true);
    expect(r.depthComplete).toBeLessThan(6);
    expect(r.violation).toBeUndefined();
  });

  test('Only the requested kinds are explored', () => {
    const r = exploreTopology(scope('vtd'), { depth: 3, kinds: ['spawn', 'exit'] });
    // spawn mm0 / (spawn mm1 | exit mm0) / ...: a handful of states, none with a bond.
    expect(r.distinctStates).toBeLessThan(12);
    const clean = exploreTopology(scope('vtd'), { depth: 3, fault: 'B01', kinds: ['spawn', 'exit', 'mmdrop'] });
    // B01 needs a bind: without it there is nothing to find.
    expect(clean.violation).toBeUndefined();
  });
});
