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

describe('the linearization is the order the invariants accept', () => {
  // A PRG on the RID sent while serviceFaults runs its IRQ thread. Both orders give the
  // observations; which one the kernel took shows only in what stays queued, and the spec must
  // take that one. Since VT-d's PRQ thread is a task, a request that arrives while it runs makes
  // it run its handler again (prq.c: the IRQ wakes the thread), so the kernel answers it: the
  // spec must take "prg, then serviceFaults" (before, the thread read the PRQ once and the
  // request stayed queued: "serviceFaults, then prg"). The earlier
  // non-last RID request answered twice (known finding iopf-partial-error-response) leaves a
  // protocol error that fires under every order, so "the first clean order" finds none: the
  // order with the fewest violations is taken.
  const topology: Topology = {
    platform: 'vtd', iommus: [{ pasidBits: 4, didBits: 16, asidBits: 3, rangeInv: false, prqSize: 16 }],
    devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }], mms: 1, pages: 2, kpages: 0, ptLevels: 4,
  };
  test('vtd: prg ∥ serviceFaults, the PRQ read before the request arrives', () => {
    const s = openSession(topology);
    expect(checkedStep(s, { kind: 'prg', dev: 0, mm: 0, page: 0, count: 2, write: false, last: true, rid: true })).toEqual([]);
    expect(checkedStep(s, { kind: 'serviceFaults' })).toEqual([]);
    const group: Command[] = [{ kind: 'prg', dev: 0, mm: 0, page: 1, count: 1, write: true, last: true, rid: true }, { kind: 'serviceFaults' }];
    expect(groupLegal(s.spec, group)).toBe(true);
    // cpu1 wakes the fault IRQ thread, which waits for the PRQ thread; the device sends before
    // the PRQ thread reads the queue (the default rule would run the awaited thread first).
    const switches = [{ at: 0, to: 1 }, { at: 1, to: 2 }, { at: 2, to: 0 }];
    expect(checkedGroup(s, group, { scheduler: 'pct', seed: 1, depth: 3, switches })).toEqual([]);
    expect(s.steps.at(-1)!.actual).toEqual({ ok: true, value: 0 });
    // The spec took the prg first: the request is answered, as on the device.
    expect(s.world.devices[0]!.hw.priState!.outstanding.length).toBe(0);
    expect(s.spec.outstanding[0]).toBe(0);
  });
});
