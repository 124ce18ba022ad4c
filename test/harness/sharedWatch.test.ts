import { describe, expect, test } from 'vitest';
import { WatchReader, SharedStepWatch, newWatchBuffer } from '../../src/harness/sharedWatch.js';
import { checkedGroup, checkedStep, openSession } from '../../src/harness/index.js';
import type { TraceGroup } from '../../src/trace/index.js';
import { COMMAND_KINDS, defaultTopology } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';

/** One command of every kind, with every field value shape (false, 0, each enum). */
const EVERY_KIND: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 1, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 3, prot: 'r' }, { kind: 'touch', mm: 0, page: 2, write: false },
  { kind: 'munmap', mm: 0, first: 1, count: 2 }, { kind: 'mprotect', mm: 0, page: 1, prot: 'none' },
  { kind: 'dma', dev: 0, mm: 0, page: 1, write: true }, { kind: 'exit', mm: 0 }, { kind: 'mmdrop', mm: 0 },
  { kind: 'fork', mm: 0, child: 1 }, { kind: 'gracePeriod' }, { kind: 'prefetch', dev: 0, mm: 1, page: 0 },
  { kind: 'vmalloc', kpage: 1 }, { kind: 'vfree', kpage: 1 }, { kind: 'failNext', site: 'kzalloc@iommu_sva_bind_device' }, { kind: 'failNth', n: 3 },
  { kind: 'serviceFaults' }, { kind: 'prefetchKernel', dev: 0, mm: 1, kpage: 0 }, { kind: 'unplug', dev: 1 },
  { kind: 'prg', dev: 0, mm: 1, page: 1, count: 2, write: true, rid: false, last: false },
  { kind: 'attachPasid', dev: 2, hwpt: 0, pasid: 8 }, { kind: 'replacePasid', dev: 2, hwpt: 1, from: 0 },
  { kind: 'detachPasid', dev: 3, hwpt: 1 }, { kind: 'iommuMap', hwpt: 1, page: 3, write: true },
  { kind: 'iommuUnmap', hwpt: 0, page: 0 }, { kind: 'dmaIova', dev: 0, hwpt: 1, page: 2, write: false },
  { kind: 'migrate', mm: 1, page: 2 }, { kind: 'dmaPasid', dev: 1, pasid: 5, page: 3, write: true },
  { kind: 'stopMarker', dev: 0, mm: 1 },
  { kind: 'guestMap', page: 1, gpa: 3, write: true }, { kind: 'guestUnmap', page: 2 }, { kind: 'destroyHwpt', hwpt: 2 },
];

describe('The shared-memory step watch', () => {
  test('The supervisor reads back the seed, topology and every command of the run, field for field', () => {
    expect(new Set(EVERY_KIND.map((c) => c.kind))).toEqual(new Set(COMMAND_KINDS));
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const s = openSession(defaultTopology('smmuv3'));
    watch.chunk(-7);
    for (const cmd of EVERY_KIND) {
      s.commands.push(cmd);
      watch.enter(s, cmd);
      watch.leave();
    }
    expect(reader.run()).toEqual({ seed: -7, topology: defaultTopology('smmuv3'), commands: EVERY_KIND, stepAt: EVERY_KIND.length - 1, groups: [] });
  });

  test('A concurrent group enters once with all its members: the step in progress starts at its first', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const s = openSession(defaultTopology('vtd'));
    s.commands.push({ kind: 'spawn', mm: 0 });
    watch.enter(s, { kind: 'spawn', mm: 0 });
    watch.leave();
    s.commands.push({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'gracePeriod' });
    watch.enter(s, { kind: 'gracePeriod' });
    expect(reader.run()).toMatchObject({ stepAt: 1, commands: [{ kind: 'spawn' }, { kind: 'bind' }, { kind: 'gracePeriod' }] });
  });

  test('The heartbeat moves at each step and says whether a step is in progress', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const s = openSession(defaultTopology('vtd'));
    const before = reader.beats();
    s.commands.push({ kind: 'spawn', mm: 0 });
    watch.enter(s, { kind: 'spawn', mm: 0 });
    expect(reader.beats()).not.toBe(before);
    expect(reader.inStep()).toBe(true);
    watch.leave();
    expect(reader.inStep()).toBe(false);
  });

  test('A new session starts a new record; the stop request reaches the search side', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const a = openSession(defaultTopology('vtd'));
    a.commands.push({ kind: 'spawn', mm: 0 }, { kind: 'spawn', mm: 1 });
    watch.enter(a, { kind: 'spawn', mm: 1 });
    const b = openSession(defaultTopology('smmuv3'));
    b.commands.push({ kind: 'spawn', mm: 1 });
    watch.enter(b, { kind: 'spawn', mm: 1 });
    expect(reader.run()?.topology.platform).toBe('smmuv3');
    expect(reader.run()?.commands).toEqual([{ kind: 'spawn', mm: 1 }]);
    expect(watch.stopRequested()).toBe(false);
    reader.requestStop();
    expect(watch.stopRequested()).toBe(true);
  });

  test('The checked step drives the watch: enter before the step, leave after it', () => {
    const buffer = newWatchBuffer();
    const reader = new WatchReader(buffer);
    const watch = new SharedStepWatch(buffer);
    let inStepDuringImpl: boolean | undefined;
    const s = openSession(defaultTopology('vtd'), {
      watch: { chunk: () => {}, enter: (x, c) => { watch.enter(x, c); inStepDuringImpl = reader.inStep(); }, leave: () => watch.leave(), group: () => {}, groupSwitch: () => {} },
    });
    checkedStep(s, { kind: 'spawn', mm: 0 });
    expect(inStepDuringImpl).toBe(true);
    expect(reader.inStep()).toBe(false);
    expect(reader.run()?.commands).toEqual([{ kind: 'spawn', mm: 0 }]);
  });

  test('A concurrent group enters once with all its members: every member is read back, not only the last', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const s = openSession(defaultTopology('vtd'));
    const group: Command[] = [{ kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 1, write: false }, { kind: 'serviceFaults' }];
    s.commands.push({ kind: 'spawn', mm: 0 });
    watch.enter(s, { kind: 'spawn', mm: 0 });
    watch.leave();
    s.commands.push(...group);
    watch.enter(s, group[2]!);
    expect(reader.run()?.commands).toEqual([{ kind: 'spawn', mm: 0 }, ...group]);
  });
});

describe('Concurrent groups through the watch', () => {
  test('Each group is read back with the switches its scheduler forced; the one in progress with those so far', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const s = openSession(defaultTopology('vtd'), { watch });
    for (const c of [{ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' }, { kind: 'bind', dev: 0, mm: 0 }] as const) checkedStep(s, c);
    const members: Command[] = [{ kind: 'munmap', mm: 0, first: 0, count: 1 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }];
    let forced = 0;
    for (let seed = 1; forced === 0 && seed < 50; seed++) {
      checkedGroup(s, members, { scheduler: 'random', seed });
      forced = s.groups[s.groups.length - 1]!.switches.length;
    }
    expect(forced).toBeGreaterThan(0);
    const strip = ({ tasks: _t, points: _p, ...g }: TraceGroup) => g;
    expect(reader.run()!.groups).toEqual(s.groups.map(strip));
    // A group that never returns: what was entered, and the switches forced before the hang.
    s.commands.push(...members);
    watch.enter(s, members[1]!);
    watch.group({ at: s.commands.length - 2, size: 2, scheduler: 'pct', seed: 9, depth: 3 });
    watch.groupSwitch({ at: 4, to: 1 });
    const hung = reader.run()!;
    expect(hung.stepAt).toBe(s.commands.length - 2);
    expect(hung.groups![hung.groups!.length - 1]).toEqual({ at: s.commands.length - 2, size: 2, scheduler: 'pct', seed: 9, depth: 3, switches: [{ at: 4, to: 1 }] });
    expect(hung.groups!.slice(0, -1)).toEqual(s.groups.map(strip));
  });

  test('A new session starts the groups afresh', () => {
    const buffer = newWatchBuffer();
    const watch = new SharedStepWatch(buffer);
    const reader = new WatchReader(buffer);
    const a = openSession(defaultTopology('vtd'), { watch });
    a.commands.push({ kind: 'spawn', mm: 0 }, { kind: 'spawn', mm: 1 });
    watch.enter(a, { kind: 'spawn', mm: 1 });
    watch.group({ at: 0, size: 2, scheduler: 'random', seed: 1 });
    watch.leave();
    const b = openSession(defaultTopology('vtd'), { watch });
    b.commands.push({ kind: 'spawn', mm: 0 });
    watch.enter(b, { kind: 'spawn', mm: 0 });
    expect(reader.run()!.groups).toEqual([]);
  });
});
