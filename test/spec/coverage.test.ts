import { describe, expect, test } from 'vitest';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { CoverageRecorder, initSpec } from '../../src/spec/index.js';
import { bind, run, spawn, unbind } from './helpers.js';

describe('transition coverage', () => {
  test('a single bind covers exactly the transitions it takes', () => {
    const cov = new CoverageRecorder();
    const s = initSpec(defaultTopology('vtd'), cov);
    run(s, spawn(0));
    run(s, bind(0, 0));
    // mm unborn→live, pasid none→assigned, bond unbound→bound, domain absent→attached
    expect(cov.count()).toEqual({ covered: 4, total: 22 });
    expect(cov.count('bond')).toEqual({ covered: 1, total: 7 });
    expect(cov.report()).toContain('all: 4 of 22 transitions');
    expect(cov.report()).toContain('not covered: mm: live --exit--> exited');
  });

  test('a scripted run covers all 22 declared transitions', () => {
    const cov = new CoverageRecorder();
    const s = initSpec(defaultTopology('smmuv3'), cov);
    const cmds: Command[] = [
      spawn(0), { kind: 'fork', mm: 0, child: 1 },
      bind(0, 0), bind(0, 0), bind(1, 0), unbind(0, 0), unbind(1, 0), // bond self-loops, domain attach/detach
      bind(1, 0), { kind: 'exit', mm: 0 }, bind(0, 1), bind(0, 1), { kind: 'exit', mm: 1 },
      unbind(0, 1), unbind(0, 1), { kind: 'mmdrop', mm: 1 }, // defunct unbinds, unpinned?: pinned by notifier
      { kind: 'mmdrop', mm: 0 }, unbind(0, 0), unbind(1, 0), { kind: 'gracePeriod' },
      spawn(0), spawn(1), { kind: 'exit', mm: 1 }, { kind: 'mmdrop', mm: 1 }, { kind: 'fork', mm: 0, child: 1 },
    ];
    for (const c of cmds) run(s, c);
    // the domain discard: a group member too narrow for the new PASID needs its own topology
    const narrow = initSpec({
      ...defaultTopology('smmuv3'),
      devices: [
        { iommu: 0, group: 0, pasidBits: 20, ats: true, pri: false },
        { iommu: 0, group: 1, pasidBits: 20, ats: true, pri: false },
        { iommu: 0, group: 1, pasidBits: 1, ats: true, pri: false },
      ],
    }, cov);
    for (const c of [spawn(0), spawn(1), bind(0, 0), bind(1, 1)]) run(narrow, c);
    expect(cov.uncovered().map((t) => `${t.machine}:${t.source}:${t.event}:${t.guard ?? ''}`)).toEqual([]);
    expect(cov.count()).toEqual({ covered: 22, total: 22 });
  });

  test('merge adds counts from another recorder', () => {
    const a = new CoverageRecorder();
    const b = new CoverageRecorder();
    a.record(0);
    b.record(0);
    b.record(3);
    a.merge(b);
    expect(a.hits[0]).toBe(2);
    expect(a.count().covered).toBe(2);
  });
});
