import { describe, expect, test } from 'vitest';
import { priRetry } from '../../properties/hardware/priRetry.js';
import { checkedGroup, checkedStep, groupLegal, openSession } from '../../src/harness/index.js';
import { PLATFORMS, type Topology, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

// A page request is queued (a DMA to a page never touched), then answered by serviceFaults
// while another member munmaps other pages: the answer is serviceFaults', whichever member
// the linearization puts last.
const setup: Command[] = [
  { kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 3, prot: 'rw' }, { kind: 'touch', mm: 1, page: 2, write: true },
];


/** The default topology with PRI on device 0 (its page requests go to the IOPF queue). */
const withPri = (t: Topology): Topology => ({ ...t, devices: t.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) });

describe('a group member is not blamed for another member\'s effects', () => {
  test.each(PLATFORMS)('%s: serviceFaults ∥ munmap: the page response is serviceFaults\', not munmap\'s', (platform) => {
    const dev = 0;
    const s = openSession(withPri(defaultTopology(platform)));
    for (const c of setup) expect(checkedStep(s, c)).toEqual([]);
    expect(checkedStep(s, { kind: 'bind', dev, mm: 1 })).toEqual([]);
    expect(checkedStep(s, { kind: 'dma', dev, mm: 1, page: 0, write: false })).toEqual([]);
    const group: Command[] = [{ kind: 'serviceFaults' }, { kind: 'munmap', mm: 1, first: 2, count: 1 }];
    expect(groupLegal(s.spec, group)).toBe(true);
    // The default policy runs the members in order: the linearization ends with munmap.
    expect(checkedGroup(s, group, { scheduler: 'replay', seed: 0 })).toEqual([]);
    expect(s.steps.at(-2)!.actual).toEqual({ ok: true, value: 1 });
    // Judged with munmap alone as the command, the same state is a violation: what the fix avoids.
    const ctx = { step: 0, cmd: group[1]!, expected: s.steps.at(-1)!.expected, actual: s.steps.at(-1)!.actual, spec: s.spec, world: s.world, anomalies: [], probe: s.probe };
    expect(priRetry.check(ctx).map((v) => v.message).join()).toMatch(/answered during munmap/);
  });

  test('two serviceFaults are not a group: each counts the answers made while it ran', () => {
    const s = openSession(defaultTopology('vtd'));
    for (const c of setup) checkedStep(s, c);
    expect(groupLegal(s.spec, [{ kind: 'serviceFaults' }, { kind: 'serviceFaults' }])).toBe(false);
    expect(groupLegal(s.spec, [{ kind: 'serviceFaults' }, { kind: 'touch', mm: 1, page: 0, write: true }])).toBe(true);
  });
});
