import { describe, expect, test } from 'vitest';
import { enabledOfKind, possibleKind } from '../../src/harness/enabled.js';
import { checkedStep, openSession } from '../../src/harness/index.js';
import { COMMAND_KINDS, defaultTopology } from '../../src/shared/index.js';
import { precondition } from '../../src/spec/index.js';
import { drawOfKind } from '../../models/draw.js';
import { runGenerated } from '../../models/generate.js';
import { Rng } from '../../models/rng.js';
import { RunStats } from '../../models/stats.js';
import { DEFAULT_WEIGHTS } from '../../models/weights.js';

describe('State-aware drawing', () => {
  for (const platform of ['vtd', 'smmuv3', 'amd'] as const) {
    test(`on ${platform}, every drawn command is legal, and a kind draws nothing exactly when none of it is enabled`, () => {
      const t = defaultTopology(platform);
      const rng = new Rng(11);
      let drawn = 0;
      for (let run = 0; run < 20; run++) {
        const s = openSession(t);
        for (let n = 0; n < 60 && s.violation === undefined; n++) {
          let next;
          for (const kind of COMMAND_KINDS) {
            if (!possibleKind(kind, t)) continue;
            const c = drawOfKind(s.spec, kind, rng);
            expect(c === undefined).toBe(enabledOfKind(s.spec, kind).length === 0);
            if (c === undefined) continue;
            expect(c.kind).toBe(kind);
            expect(precondition(s.spec, c)).toBe(true);
            drawn++;
            if (next === undefined || rng.below(4) === 0) next = c;
          }
          if (next !== undefined) checkedStep(s, next);
        }
        expect(s.violation).toBeUndefined();
      }
      expect(drawn).toBeGreaterThan(5000);
    });
  }

  test('A generated run rejects nothing: every generated command ran, and the same seed gives the same commands', () => {
    const t = defaultTopology('vtd');
    const once = (seed: number) => {
      const s = openSession(t);
      const stats = new RunStats();
      runGenerated(s, new Rng(seed), { weights: DEFAULT_WEIGHTS, maxCommands: 150, swarm: 0.5 }, stats);
      expect(stats.filtered).toBe(0);
      expect(stats.checks).toBe(s.commands.length);
      return JSON.stringify(s.commands);
    };
    for (let seed = 1; seed < 6; seed++) expect(once(seed)).toBe(once(seed));
    expect(once(1)).not.toBe(once(2));
  });

  test('Swarm runs switch kinds off (never spawn or bind); runs without swarm draw from every kind', () => {
    const t = defaultTopology('vtd');
    const missing = (swarm: number, kind: string): number => {
      let n = 0;
      for (let seed = 1; seed <= 24; seed++) {
        const s = openSession(t);
        runGenerated(s, new Rng(seed), { weights: DEFAULT_WEIGHTS, maxCommands: 400, swarm }, new RunStats());
        // Only runs long enough that a kind of weight 8 in ~70 would show up.
        if (s.commands.length >= 100 && !s.commands.some((c) => c.kind === kind)) n++;
      }
      return n;
    };
    expect(missing(0, 'touch')).toBe(0);
    expect(missing(1, 'touch')).toBeGreaterThanOrEqual(4);
    expect(missing(1, 'bind')).toBe(0);
  });
});
