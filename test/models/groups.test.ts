import { describe, expect, it } from 'vitest';
import { openSession } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { runGenerated } from '../../models/generate.js';
import { DEFAULT_GROUP_RATE } from '../../models/groups.js';
import { Rng } from '../../models/rng.js';
import { RunStats } from '../../models/stats.js';
import { DEFAULT_WEIGHTS } from '../../models/weights.js';

const gen = { weights: DEFAULT_WEIGHTS, maxCommands: 60, swarm: 0 };

const run = (seed: number, groups?: { rate: number; scheduler: 'random' | 'pct' | 'mix' }) => {
  const s = openSession(defaultTopology('vtd'), {});
  const stats = new RunStats();
  runGenerated(s, new Rng(seed), groups === undefined ? gen : { ...gen, groups }, stats);
  return { s, stats };
};

describe('generated concurrent groups', () => {
  it('rate 0 draws exactly what a run without groups draws', () => {
    for (let seed = 1; seed <= 20; seed++) expect(run(seed, { rate: 0, scheduler: 'mix' }).s.commands).toEqual(run(seed).s.commands);
  });

  it('groups appear, are 2-3 commands, and record seed and scheduler; same seed, same run', () => {
    let groups = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const a = run(seed, { rate: 0.5, scheduler: 'mix' });
      const b = run(seed, { rate: 0.5, scheduler: 'mix' });
      expect(b.s.commands).toEqual(a.s.commands);
      expect(b.s.groups).toEqual(a.s.groups);
      for (const g of a.s.groups) {
        expect(g.size).toBeGreaterThanOrEqual(2);
        expect(g.size).toBeLessThanOrEqual(3);
        expect(['pct', 'random']).toContain(g.scheduler);
        if (g.scheduler === 'pct') expect([2, 3]).toContain(g.depth);
      }
      groups += a.s.groups.length;
      expect(a.stats.sched.groups).toBe(a.s.groups.length);
    }
    expect(groups).toBeGreaterThan(10);
  });

  it('the CLI default is the models constant: a default run draws groups', async () => {
    const { DEFAULT_GROUPS } = await import('../../src/cli/runOptions.js');
    expect(DEFAULT_GROUP_RATE).toBeGreaterThan(0);
    expect(DEFAULT_GROUPS).toBe(DEFAULT_GROUP_RATE);
  });
});
