import { describe, expect, test } from 'vitest';
import { checkedStep, groupLegal, openSession, runSequence } from '../../src/harness/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import type { TraceGroup } from '../../src/trace/index.js';
import { runGenerated } from '../../models/generate.js';
import { Rng } from '../../models/rng.js';
import { RunStats } from '../../models/stats.js';
import { DEFAULT_WEIGHTS } from '../../models/weights.js';

/** Every legal adjacent pair of `cmds` (greedily, left to right) as a group under the default policy. */
const pairUp = (platform: (typeof PLATFORMS)[number], cmds: readonly Command[]): TraceGroup[] => {
  // The spec states come from a sequential replay: an armed injection needs the kernel's report.
  const s = openSession(defaultTopology(platform));
  const groups: TraceGroup[] = [];
  for (let i = 0; i < cmds.length; i++) {
    const pair = i + 1 < cmds.length && groupLegal(s.spec, cmds.slice(i, i + 2));
    if (pair) groups.push({ at: i, size: 2, scheduler: 'replay', seed: 0, switches: [] });
    if (checkedStep(s, cmds[i]!).length > 0 || s.ended) break;
    if (pair) {
      i++;
      if (checkedStep(s, cmds[i]!).length > 0 || s.ended) break;
    }
  }
  return groups;
};

const strip = (steps: readonly { events?: readonly object[] }[]) =>
  steps.map((st) => ({ ...st, events: st.events?.map((e) => { const { task: _t, at: _a, ...rest } = e as { task?: number; at?: number }; return rest; }) }));

describe('Groups under the default policy are the sequential run', () => {
  test.each(PLATFORMS)('%s: generated runs, every legal adjacent pair grouped, give the same steps and verdict', (platform) => {
    let grouped = 0;
    for (let seed = 1; seed <= 25; seed++) {
      const s = openSession(defaultTopology(platform), { events: true });
      runGenerated(s, new Rng(seed * 2654435761), { weights: DEFAULT_WEIGHTS, maxCommands: 40, swarm: 0.5 }, new RunStats());
      const groups = pairUp(platform, s.commands);
      grouped += groups.length;
      const r = runSequence(s.topology, s.commands, { events: true, groups });
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.value.session.violation).toEqual(s.violation);
      expect(JSON.stringify(strip(r.value.session.steps))).toBe(JSON.stringify(s.steps));
    }
    expect(grouped).toBeGreaterThan(50);
  });
});
