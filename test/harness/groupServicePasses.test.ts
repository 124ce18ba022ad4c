import { describe, expect, test } from 'vitest';
import { exploreGroup, groupLegal, runSequence } from '../../src/harness/index.js';
import { initSpec, linPoints, servicePasses } from '../../src/spec/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { GROUP, PREFIX, withPri } from './servicePassesGroup.js';

/**
 * serviceFaults is a loop (spec/points.ts): VT-d's PRQ thread runs again when its interrupt
 * fired during the run, so a page request a device sends while the thread still runs is answered
 * by it, after the work items of the requests queued before it have returned their PRI credits
 * (an early item: spec/pri.ts servicePoint). With the
 * device's two credits taken by a queued group, neither atomic order explains that: the request
 * first finds no credit; serviceFaults first leaves it queued.
 */

describe('serviceFaults in a group: a point per member (and per queued group)', () => {
  test('alone it has one point, in a group of n four per VT-d IOMMU (two elsewhere) and one per member; points add their Success answers', () => {
    const s = initSpec(defaultTopology('vtd'));
    const iommus = defaultTopology('vtd').iommus.length;
    expect(linPoints(s, { kind: 'serviceFaults' })).toBe(1);
    expect(linPoints(s, { kind: 'serviceFaults' }, 3)).toBe(4 * iommus + 3);
    const amd = initSpec(defaultTopology('amd'));
    expect(linPoints(amd, { kind: 'serviceFaults' }, 3)).toBe(2 * defaultTopology('amd').iommus.length + 3);
    expect(linPoints(s, { kind: 'touch', mm: 0, page: 0, write: false }, 3)).toBe(1);
    expect(servicePasses(undefined, { ok: true, value: 2 })).toEqual({ ok: true, value: 2 });
    expect(servicePasses({ ok: true, value: 2 }, { ok: true, value: 1 })).toEqual({ ok: true, value: 3 });
    expect(servicePasses({ ok: true, value: 0 }, { ok: true, value: 0 })).toEqual({ ok: true, value: 0 });
  });

  test('VT-d: every schedule of {prg, serviceFaults} with one preemption, credits exhausted, is explained, the mid-run arrival included', () => {
    const t = withPri();
    const pre = runSequence(t, PREFIX);
    if (!pre.ok) throw new Error(pre.error);
    expect(pre.value.session.violation).toBeUndefined();
    expect(groupLegal(pre.value.session.spec, GROUP)).toBe(true);
    const r = exploreGroup(t, PREFIX, GROUP, 1, 5_000);
    expect(r).toMatchObject({ complete: true, found: undefined, invariant: undefined });
    expect(r.schedules).toBeGreaterThan(100);
  });
});

test('VT-d: the thread\'s wake-up and PQH-write points only where a member can meet them (a drain, a device\'s request); threads only on IOMMUs the group can meet', () => {
  const t = defaultTopology('vtd');
  const s = initSpec(t);
  const n = t.iommus.length;
  expect(n).toBeGreaterThan(1);
  const sf = { kind: 'serviceFaults' } as const;
  const group = (c: Command): Command[] => [sf, c];
  // Nothing queued, no member names a device: no thread has points; the one point finishes the pass.
  expect(linPoints(s, sf, 2, group({ kind: 'touch', mm: 0, page: 0, write: false }))).toBe(1);
  // dev0's IOMMU only: its read, loop end and wake-up (a drain) or PQH write (a request); a work
  // item point for the request a PRI device's miss may send.
  const miss = s.t.devPri[0] ? 1 : 0;
  expect(linPoints(s, sf, 2, group({ kind: 'unbind', dev: 0, mm: 0 }))).toBe(3);
  expect(linPoints(s, sf, 2, group({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false }))).toBe(3 + miss);
  expect(linPoints(s, sf, 3, [sf, { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }])).toBe(4 + miss);
  // A device behind another IOMMU adds that IOMMU's thread, with the points its member can meet.
  const other = t.devices.findIndex((d) => d.iommu !== t.devices[0]!.iommu);
  expect(linPoints(s, sf, 3, [sf, { kind: 'unbind', dev: 0, mm: 0 }, { kind: 'dma', dev: other, mm: 0, page: 0, write: false }])).toBe(3 + 3 + (s.t.devPri[other] ? 1 : 0));
});
