import { describe, expect, test } from 'vitest';
import {
  AT_YIELD, LIN_ID, type MemberTask, type Session, checkedGroup, checkedStep, exploreGroup, groupLegal, minimizeCounterexample, openSession, replayTrace, runSequence,
} from '../../src/harness/index.js';
import { warn } from '../../src/impl/core/kernel.js';
import { type Mutex, mutex_init, mutex_lock, mutex_unlock } from '../../src/impl/core/locking.js';
import { type Co, preemptPoint } from '../../src/impl/core/sched.js';
import { implStep, type World } from '../../src/impl/index.js';
import { PLATFORMS, defaultTopology } from '../../src/shared/index.js';
import type { Command, Observation } from '../../src/shared/index.js';
import { newTrace, parseTrace, serializeTrace } from '../../src/trace/index.js';

const setup: Command[] = [
  { kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 3, prot: 'rw' }, { kind: 'touch', mm: 1, page: 2, write: true },
];
const twoBinds: Command[] = [{ kind: 'bind', dev: 0, mm: 1 }, { kind: 'bind', dev: 2, mm: 1 }];

const sessionAfter = (platform: (typeof PLATFORMS)[number], cmds: readonly Command[], opts: Parameters<typeof openSession>[1] = {}): Session => {
  const s = openSession(defaultTopology(platform), opts);
  for (const c of cmds) expect(checkedStep(s, c)).toEqual([]);
  return s;
};

const P = preemptPoint('test double');

describe('checkedGroup', () => {
  test.each(PLATFORMS)('%s: two binds on different devices are linearizable, under random and PCT', (platform) => {
    for (const sched of [{ scheduler: 'random', seed: 3 }, { scheduler: 'pct', seed: 4, depth: 2 }] as const) {
      const s = sessionAfter(platform, setup);
      expect(groupLegal(s.spec, twoBinds)).toBe(true);
      expect(checkedGroup(s, twoBinds, sched)).toEqual([]);
      expect(s.steps).toHaveLength(setup.length + 2);
      expect(s.steps.slice(-2).every((st) => st.actual.ok)).toBe(true);
      expect(s.groups).toEqual([expect.objectContaining({ at: setup.length, size: 2, scheduler: sched.scheduler, seed: sched.seed })]);
      // The group left the spec where the sequential binds would: a dma through both works.
      expect(checkedStep(s, { kind: 'dma', dev: 2, mm: 1, page: 2, write: false })).toEqual([]);
    }
  });

  test('a group some order cannot explain is LIN, with the history and every order printed', () => {
    // The impl half returns ENODEV for one bind of a live device: no order gives that.
    const lying: MemberTask = function* (world: World, cmd: Command): Co<Observation> {
      yield P;
      const o = implStep(world, cmd);
      return cmd.kind === 'bind' && cmd.dev === 2 ? { ok: false, errno: 'ENODEV' } : o;
    };
    const s = sessionAfter('vtd', setup, { task: lying });
    const found = checkedGroup(s, twoBinds, { scheduler: 'random', seed: 1 });
    expect(found.map((v) => v.invariant)).toEqual([LIN_ID]);
    const msg = found[0]!.message;
    expect(msg).toContain('not linearizable');
    expect(msg).toMatch(/cpu0 \(cpu\) bind\(d0,mm1\): points \d+\.\.\d+, returned/);
    expect(msg).toMatch(/cpu1 \(cpu\) bind\(d2,mm1\): points \d+\.\.\d+, returned .*ENODEV/);
    expect(msg).toContain('cpu0 ; cpu1:');
    // From the state before the group: the order the kernel took explains all but the lie.
    expect(msg).toMatch(/cpu1 ; cpu0: cpu1 pasid \d+, cpu0 pasid \d+/);
    expect(msg).toContain('cpu1 ; cpu0:');
    expect(s.violation?.invariant).toBe(LIN_ID);
  });

  test('groups need every order legal, and no armed injection', () => {
    const s = sessionAfter('smmuv3', setup);
    expect(groupLegal(s.spec, [{ kind: 'bind', dev: 0, mm: 1 }, { kind: 'unbind', dev: 0, mm: 1 }])).toBe(false);
    expect(groupLegal(s.spec, [{ kind: 'bind', dev: 0, mm: 1 }, { kind: 'failNext', site: s.spec.t.topology.platform === 'smmuv3' ? 'iommu_sva_bind' as never : 'x' as never }])).toBe(false);
    expect(groupLegal(s.spec, [twoBinds[0]!])).toBe(false);
  });

  test('a member that throws is EXC at its own step; the others still finish', () => {
    const throwing: MemberTask = function* (world: World, cmd: Command): Co<Observation> {
      yield P;
      if (cmd.kind === 'bind' && cmd.dev === 0) throw new Error('BUG: test');
      return implStep(world, cmd);
    };
    const s = sessionAfter('smmuv3', setup, { task: throwing });
    const found = checkedGroup(s, twoBinds, { scheduler: 'random', seed: 2 });
    expect(found.map((v) => v.invariant)).toEqual(['EXC']);
    expect(s.violation?.step).toBe(setup.length);
    expect(s.steps[setup.length + 1]!.actual.ok).toBe(true);
  });

  test('an ABBA deadlock between two members is I-SPLAT with the blocked tasks; neither member finished', () => {
    const locks = new WeakMap<World, readonly [Mutex, Mutex]>();
    const abba: MemberTask = function* (world: World, cmd: Command): Co<Observation> {
      let l = locks.get(world);
      if (l === undefined) locks.set(world, (l = [mutex_init(world.kernel, 'test_a'), mutex_init(world.kernel, 'test_b')]));
      const [first, second] = cmd.kind === 'bind' && cmd.dev === 0 ? l : [l[1], l[0]];
      yield* mutex_lock(first);
      yield* mutex_lock(second);
      const o = implStep(world, cmd);
      yield* mutex_unlock(second);
      yield* mutex_unlock(first);
      return o;
    };
    const s = sessionAfter('vtd', setup, { task: abba });
    // Member 0 takes A, then member 1 takes B: each then waits for the other.
    const found = checkedGroup(s, twoBinds, { scheduler: 'replay', seed: 0, switches: [{ at: 2, to: 1 }] });
    // Lockdep sees the cycle first, when cpu0 asks for B; then nothing can run: the deadlock report.
    expect(found[0]?.invariant).toBe('I-SPLAT');
    expect(found[0]?.message).toMatch(/^at point \d+ \(cpu0\): kernel splat: possible circular locking dependency/);
    const report = found.find((v) => v.message.includes('possible deadlock'));
    expect(report?.message).toMatch(/cpu0 \(cpu\) waits in mutex_lock\(test_b\), holding test_a/);
    expect(s.steps.slice(-2).map((st) => st.actual)).toEqual([
      expect.objectContaining({ ok: false, fault: expect.stringContaining('never finished') }),
      expect.objectContaining({ ok: false, fault: expect.stringContaining('never finished') }),
    ]);
  });

  test('the at-yield invariants are I-SPLAT, I-UAF-DMA and I-QUEUE, each with its reason', () => {
    expect(AT_YIELD.map((c) => c.id)).toEqual(['I-SPLAT', 'I-UAF-DMA', 'I-QUEUE']);
    for (const c of AT_YIELD) expect(c.why.length).toBeGreaterThan(20);
  });

  test('a WARN between two yields is I-SPLAT at that point, naming the task', () => {
    const splat: MemberTask = function* (world: World, cmd: Command): Co<Observation> {
      yield P;
      if (cmd.kind === 'bind' && cmd.dev === 2) warn(world.kernel, 'WARN_ON(test)');
      yield P;
      return implStep(world, cmd);
    };
    const s = sessionAfter('amd', setup, { task: splat });
    const found = checkedGroup(s, twoBinds, { scheduler: 'replay', seed: 0 });
    expect(found[0]?.invariant).toBe('I-SPLAT');
    expect(found[0]?.message).toMatch(/^at point \d+ \(cpu1\): kernel splat: WARN_ON\(test\)/);
  });
});

/** Commands that pair up into legal groups: every second pair runs as one. */
const mixed: Command[] = [
  ...setup, { kind: 'spawn', mm: 2 }, { kind: 'mmap', mm: 2, first: 0, count: 2, prot: 'r' },
  { kind: 'bind', dev: 0, mm: 1 }, { kind: 'bind', dev: 2, mm: 2 },
  { kind: 'dma', dev: 0, mm: 1, page: 2, write: true }, { kind: 'touch', mm: 2, page: 1, write: false },
  { kind: 'munmap', mm: 1, first: 2, count: 1 }, { kind: 'dma', dev: 2, mm: 2, page: 0, write: false },
  { kind: 'unbind', dev: 0, mm: 1 }, { kind: 'unbind', dev: 2, mm: 2 },
];
const pairs = [5, 7, 9, 11].map((at) => ({ at, size: 2, scheduler: 'replay' as const, seed: 0, switches: [] }));

describe('groups in traces', () => {
  test.each(PLATFORMS)('%s: groups under the default policy run the steps the sequential run does', (platform) => {
    const seq = runSequence(defaultTopology(platform), mixed, { events: true });
    const grp = runSequence(defaultTopology(platform), mixed, { events: true, groups: pairs });
    expect(seq.ok && grp.ok).toBe(true);
    if (!seq.ok || !grp.ok) return;
    expect(grp.value.session.violation).toBeUndefined();
    expect(grp.value.session.groups).toHaveLength(4);
    // Events inside a group carry their task and point; without those, the same bytes.
    const plain = grp.value.session.steps.map((st) => ({ ...st, events: st.events?.map(({ lane, actor, text }) => ({ lane, actor, text })) }));
    expect(JSON.stringify(plain)).toBe(JSON.stringify(seq.value.session.steps));
    const inGroup = grp.value.session.steps[5]!.events!;
    expect(inGroup.length).toBeGreaterThan(0);
    expect(inGroup.every((e) => 'task' in e && e.task === 0)).toBe(true);
    expect(grp.value.session.steps[6]!.events!.every((e) => 'task' in e && e.task === 1)).toBe(true);
  });

  test.each(['random', 'pct'] as const)('a group recorded under %s replays exactly: same observations, same schedule', (scheduler) => {
    for (let seed = 1; seed <= 6; seed++) {
      const s = sessionAfter('vtd', setup, { events: true });
      const group = [...twoBinds, { kind: 'touch', mm: 1, page: 0, write: true } as Command];
      expect(groupLegal(s.spec, group)).toBe(true);
      expect(checkedGroup(s, group, { scheduler, seed, ...(scheduler === 'pct' ? { depth: 2 } : {}) })).toEqual([]);
      const trace = newTrace({ topology: s.topology, seed, commands: s.commands, groups: s.groups, steps: s.steps });
      const text = serializeTrace(trace);
      const parsed = parseTrace(text, 'group.json');
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      const again = replayTrace(parsed.value);
      expect(again.ok).toBe(true);
      if (!again.ok) return;
      expect(again.value.trace.groups).toEqual(trace.groups);
      // With events on, the group keeps its lanes: tasks, points, and each event's task and point.
      const g = trace.groups![0]!;
      expect(g.tasks?.map((t) => t.name)).toEqual(['cpu0', 'cpu1', 'cpu2']);
      // At least each member's end is a point (bind and touch have no yield until their paths are converted).
      expect(g.points?.length).toBeGreaterThanOrEqual(3);
      const events = trace.steps.slice(setup.length).flatMap((st) => st.events ?? []);
      expect(events.length).toBeGreaterThan(0);
      expect(events.every((e) => 'task' in e && e.task < g.tasks!.length && e.at < g.points!.length)).toBe(true);
      expect(again.value.trace.steps).toEqual(trace.steps);
      expect(serializeTrace(again.value.trace)).toBe(text);
    }
  });

  test('a trace without groups serializes as before: no groups field, same bytes on replay', () => {
    const trace = newTrace({ topology: defaultTopology('smmuv3'), seed: 9, commands: mixed, steps: [] });
    const r = replayTrace(trace);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect('groups' in r.value.trace).toBe(false);
    expect(serializeTrace(r.value.trace)).not.toContain('"groups"');
    expect(serializeTrace(r.value.trace)).not.toMatch(/"task"|"at"/);
  });

  test('a group out of range or overlapping is refused with one line', () => {
    const base = { topology: defaultTopology('vtd'), seed: 1, commands: mixed, steps: [] };
    const g = (at: number, size: number) => ({ at, size, scheduler: 'random' as const, seed: 1, switches: [] });
    expect(parseTrace(JSON.stringify(newTrace({ ...base, groups: [g(12, 2)] })), 't').ok).toBe(false);
    const overlap = parseTrace(JSON.stringify(newTrace({ ...base, groups: [g(3, 3), g(4, 2)] })), 't');
    expect(overlap).toEqual({ ok: false, error: 't: groups[1].at: group at command 4 overlaps or precedes the group before it (which ends at 6)' });
    expect(parseTrace(JSON.stringify(newTrace({ ...base, groups: [g(3, 2)] })), 't').ok).toBe(true);
  });
});

/**
 * A crafted race: each member reads a shared counter, yields, and writes it back plus one; a
 * member that finds the counter moved under it (a lost update) returns EBUSY, which no order of
 * two legal binds explains. It needs one context switch between a read and its write.
 */
const racy = (): MemberTask => {
  const counters = new WeakMap<World, { v: number }>();
  return function* (world: World, cmd: Command): Co<Observation> {
    let c = counters.get(world);
    if (c === undefined) counters.set(world, (c = { v: 0 }));
    yield P;
    const seen = c.v;
    yield P;
    const lost = c.v !== seen;
    c.v = seen + 1;
    yield P;
    const o = implStep(world, cmd);
    return lost ? { ok: false, errno: 'EBUSY' } : o;
  };
};

describe('shrinking and exploring groups', () => {
  test('a racy group shrinks to its two members and at most one switch', () => {
    const task = racy();
    const topology = defaultTopology('vtd');
    const noise: Command[] = [{ kind: 'spawn', mm: 2 }, { kind: 'mmap', mm: 2, first: 1, count: 1, prot: 'r' }];
    const cmds = [...setup, ...noise, ...twoBinds, { kind: 'touch', mm: 1, page: 0, write: false } as Command];
    // Member 0 reads, then the schedule bounces between the three tasks before member 0 writes.
    const groups = [{ at: 5, size: 3, scheduler: 'replay' as const, seed: 0, switches: [{ at: 1, to: 1 }, { at: 2, to: 2 }, { at: 3, to: 1 }, { at: 4, to: 2 }, { at: 5, to: 0 }] }];
    const r = runSequence(topology, cmds, { task, groups });
    expect(r.ok && r.value.session.violation?.invariant).toBe(LIN_ID);
    const small = minimizeCounterexample(topology, cmds, LIN_ID, { task }, undefined, groups);
    expect(small.groups).toHaveLength(1);
    const g = small.groups![0]!;
    expect(g.size).toBe(2);
    expect(g.switches.length).toBeLessThanOrEqual(1);
    expect(small.commands.length).toBeLessThan(cmds.length);
    const again = runSequence(small.topology, small.commands, { task, groups: small.groups! });
    expect(again.ok && again.value.session.violation?.invariant).toBe(LIN_ID);
  });

  test('the exhaustive scheduler finds the race with one preemption, and none without', () => {
    const task = racy();
    const topology = defaultTopology('smmuv3');
    const none = exploreGroup(topology, setup, twoBinds, 0, 1000, { task });
    expect(none.found).toBeUndefined();
    expect(none.complete).toBe(true);
    const one = exploreGroup(topology, setup, twoBinds, 1, 1000, { task });
    expect(one.found).toBeDefined();
    expect(one.invariant).toBe(LIN_ID);
    expect(one.schedules).toBeGreaterThan(1);
    const s = sessionAfter('smmuv3', setup, { task });
    expect(checkedGroup(s, twoBinds, { scheduler: 'exhaustive', seed: 0, switches: one.found!.switches }).map((v) => v.invariant)).toEqual([LIN_ID]);
  });
});
