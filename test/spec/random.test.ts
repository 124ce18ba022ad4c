import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { defaultTopology } from '../../src/shared/index.js';
import type { Topology } from '../../src/shared/index.js';
import { abstractView, cloneSpec, initSpec, precondition, specStep } from '../../src/spec/index.js';
import type { AbstractView } from '../../src/spec/index.js';
import { anyCommand } from './arbitraries.js';
import { topo } from './helpers.js';

/** The spec's own sanity: relations any kernel developer would state about the abstract state. */
const selfCheck = (t: Topology, v: AbstractView): void => {
  const live = v.slots.filter((s) => s.pasid !== null).map((s) => s.pasid);
  expect([...live].sort((a, b) => a! - b!)).toEqual(v.pasids); // IDA = PASIDs of unfreed mms
  for (const p of v.pasids) {
    expect(p).toBeGreaterThanOrEqual(1);
  }
  for (const s of v.slots) {
    if (s.state === 'unborn' || s.state === 'freed') {
      expect(s.pasid).toBeNull();
      expect(s.pages).toEqual([]);
    }
    if (s.state === 'dropped') expect(v.domains.some((d) => d.mm === s.slot) || s.pendingNotifiers > 0).toBe(true);
  }
  for (const d of v.domains) expect(d.users).toBeGreaterThanOrEqual(1);
  const perMm = new Map<string, number>();
  for (const d of v.domains) {
    const key = t.platform === 'vtd' ? `${d.mm}` : `${d.mm}:${d.iommus.join(',')}`;
    perMm.set(key, (perMm.get(key) ?? 0) + 1);
    if (t.platform === 'smmuv3') expect(d.iommus).toHaveLength(1);
  }
  for (const n of perMm.values()) expect(n).toBe(1);
  const handleUsers = v.handles.reduce((a, h) => a + h.users, 0);
  expect(v.bonds.reduce((a, b) => a + b.n, 0)).toBe(handleUsers);
  expect(v.domains.reduce((a, d) => a + d.users, 0)).toBe(v.handles.length);
  expect(v.asids).toHaveLength(t.platform === 'smmuv3' ? v.domains.length : 0);
};

const topologies: Topology[] = [
  defaultTopology('vtd'),
  defaultTopology('smmuv3'),
  topo('smmuv3', [{ pasidBits: 2, asidBits: 2 }, { pasidBits: 3, asidBits: 1 }],
    [[0, { group: 0 }], [0, { group: 0, pasidBits: 1 }], [1, { group: 1 }], [1, { group: 2, pasidBits: 0 }]], 4),
  topo('vtd', [{ pasidBits: 2 }, { pasidBits: 3 }], [[0, { group: 0 }], [0, { group: 0, ats: false }], [1, { group: 1 }]], 4),
];

describe('random legal sequences', () => {
  for (const t of topologies) {
    test(`keep the spec self-consistent on ${t.platform} with ${t.devices.length} devices`, () => {
      fc.assert(fc.property(fc.array(anyCommand(t), { minLength: 50, maxLength: 300 }), (cmds) => {
        const s = initSpec(t);
        for (const cmd of cmds) {
          if (!precondition(s, cmd)) continue;
          const obs = specStep(s, cmd);
          if (cmd.kind === 'bind' && obs.ok) expect(obs.value).toBe(abstractView(s).slots[cmd.mm]!.pasid);
          selfCheck(t, abstractView(s));
        }
      }), { numRuns: 60, seed: 60 });
    });
  }

  test('cloneSpec is independent and the step is deterministic', () => {
    const t = defaultTopology('smmuv3');
    fc.assert(fc.property(fc.array(anyCommand(t), { minLength: 20, maxLength: 200 }), fc.array(anyCommand(t), { maxLength: 100 }), (a, b) => {
      const s = initSpec(t);
      for (const c of a) if (precondition(s, c)) specStep(s, c);
      const copy = cloneSpec(s);
      const frozen = JSON.stringify(abstractView(copy));
      const obsA: unknown[] = [];
      const obsB: unknown[] = [];
      for (const c of b) if (precondition(s, c)) obsA.push(specStep(s, c));
      expect(JSON.stringify(abstractView(copy))).toBe(frozen);
      for (const c of b) if (precondition(copy, c)) obsB.push(specStep(copy, c));
      expect(obsB).toEqual(obsA);
      expect(abstractView(copy)).toEqual(abstractView(s));
    }), { numRuns: 100, seed: 100 });
  });
});
