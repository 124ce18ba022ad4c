/**
 * mm->mmap_lock as a real rwsem, and the mm paths as tasks: a munmap and a bind meet at it, lockdep
 * learns the kernel's iommu_sva_lock → &mm->mmap_lock order (mmu_notifier_register under the
 * bind), and a task taking them the other way round is reported (and deadlocks on one schedule).
 */
import { describe, expect, test } from 'vitest';
import { type Session, checkedStep, exploreGroup, openSession } from '../../../src/harness/index.js';
import { coreOf } from '../../../src/impl/core/kernel.js';
import { lockdep_deps } from '../../../src/impl/core/locking.js';
import { mmap_write_lock, mmap_write_unlock } from '../../../src/impl/core/mmapLock.js';
import { type Co, sync } from '../../../src/impl/core/sched.js';
import { implTask } from '../../../src/impl/dispatch.js';
import type { World } from '../../../src/impl/world.js';
import { runGroup } from '../../../src/sched/group.js';
import type { Policy } from '../../../src/sched/types.js';
import { type Command, type Platform, defaultTopology, userVpn } from '../../../src/shared/index.js';

const MMAP_LOCK = '&mm->mmap_lock';

/** mm0 and mm1 live with two touched pages each; nothing bound. */
const PREFIX: Command[] = [
  { kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true }, { kind: 'touch', mm: 0, page: 1, write: true },
  { kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 2, prot: 'rw' },
  { kind: 'touch', mm: 1, page: 0, write: true },
];

const session = (platform: Platform, extra: readonly Command[] = []): Session => {
  const s = openSession(defaultTopology(platform));
  for (const c of [...PREFIX, ...extra]) expect(checkedStep(s, c), JSON.stringify(c)).toEqual([]);
  return s;
};

/** Task 0 runs its first `first` steps, then task 1 whenever it can, else the lowest runnable. */
const zeroThenOne = (first: number): Policy => ({
  pick: (at, _current, runnable) => (at < first && runnable.includes(0) ? 0 : runnable.includes(1) ? 1 : runnable[0]!),
});

const warnings = (w: World): readonly string[] => coreOf(w.kernel).warnings;

/**
 * A test-only task: a hypothetical driver that binds from a path already holding the mm's
 * mmap_lock for writing (an mmap file operation, say): &mm->mmap_lock → iommu_sva_lock, the
 * inverse of the bind's own order.
 */
function* bindUnderMmapLock(world: World, lockMm: number, cmd: Command): Co<string> {
  const mm = world.mms[lockMm]!;
  yield* mmap_write_lock(mm);
  const r = yield* implTask(world, cmd);
  yield* mmap_write_unlock(mm);
  return r.ok ? 'bound' : `failed ${r.errno}`;
}

describe('mmap_lock between a munmap and a bind', () => {
  test('smmuv3: the bind blocks in mmu_notifier_register on the lock the munmap holds, then both finish', () => {
    const s = session('smmuv3');
    const munmap: Command = { kind: 'munmap', mm: 0, first: 0, count: 1 };
    const bind: Command = { kind: 'bind', dev: 0, mm: 0 };
    // The munmap's first two steps: the down_write yield, then the lock taken (held, downgraded
    // to read, at its next yield). Then the bind runs as far as it can.
    const run = runGroup(s.world.kernel, [
      { name: 'cpu0:munmap', kind: 'cpu', body: implTask(s.world, munmap) },
      { name: 'cpu1:bind', kind: 'cpu', body: implTask(s.world, bind) },
    ], zeroThenOne(2), { record: true });
    expect(run.deadlock).toBeUndefined();
    expect(run.results).toEqual([{ ok: true }, { ok: true, value: expect.any(Number) }]);
    const blocked = run.trace!.filter((p) => p.task === 1 && p.what === `down_write(${MMAP_LOCK})`);
    expect(blocked.length).toBeGreaterThan(0);
    // It blocked while the munmap still ran: the munmap has points after the bind's block.
    expect(run.trace!.some((p) => p.task === 0 && p.at > blocked[0]!.at)).toBe(true);
    expect(lockdep_deps(s.world.kernel).get('iommu_sva_lock')?.has(MMAP_LOCK)).toBe(true);
    expect(warnings(s.world)).toEqual([]);
    // The munmap did its work: the page is gone from the CPU page table.
    expect(s.world.mms[0]!.pgd.lookup(userVpn(0))).toBe(0);
  });

  test.each(['vtd', 'smmuv3', 'amd'] as const)('%s: a sequential bind teaches lockdep iommu_sva_lock → &mm->mmap_lock', (platform) => {
    const s = session(platform, [{ kind: 'bind', dev: 0, mm: 0 }]);
    expect(lockdep_deps(s.world.kernel).get('iommu_sva_lock')?.has(MMAP_LOCK)).toBe(true);
    expect(lockdep_deps(s.world.kernel).get(MMAP_LOCK)?.has('iommu_sva_lock') ?? false).toBe(false);
  });
});

describe('the inverted order', () => {
  test('smmuv3: lockdep reports the cycle on the first (sequential) run that takes it', () => {
    const s = session('smmuv3', [{ kind: 'bind', dev: 0, mm: 0 }]);
    const r = sync(s.world.kernel, bindUnderMmapLock(s.world, 0, { kind: 'bind', dev: 1, mm: 0 }));
    expect(r).toBe('bound');
    // The driver's lock first (its bind takes &uacce->mutex, then iommu_sva_lock), then the core's.
    expect(warnings(s.world).filter((w) => w.startsWith('possible circular locking dependency detected'))).toEqual([
      expect.stringContaining(`takes &uacce->mutex while holding ${MMAP_LOCK}, but &uacce->mutex -> ... -> ${MMAP_LOCK} is already known`),
      expect.stringContaining(`takes iommu_sva_lock while holding ${MMAP_LOCK}, but iommu_sva_lock -> ... -> ${MMAP_LOCK} is already known`),
    ]);
  });

  test('smmuv3: with one switch the two orders deadlock, and the report names both waits', () => {
    const s = session('smmuv3', [{ kind: 'bind', dev: 0, mm: 0 }]);
    // Task 0 holds mm1's mmap_lock and wants iommu_sva_lock (a bind of mm0 on the same SMMU, whose domain
    // exists); task 1's first bind of mm1 holds iommu_sva_lock and registers mm1's notifier.
    const run = runGroup(s.world.kernel, [
      { name: 'cpu0:inverted', kind: 'cpu', body: bindUnderMmapLock(s.world, 1, { kind: 'bind', dev: 1, mm: 0 }) },
      { name: 'cpu1:bind', kind: 'cpu', body: implTask(s.world, { kind: 'bind', dev: 0, mm: 1 }) },
    ], zeroThenOne(2));
    expect(run.deadlock).toBeDefined();
    expect(run.deadlock).toContain('cpu0:inverted (cpu) waits in mutex_lock(iommu_sva_lock)');
    expect(run.deadlock).toContain(`cpu1:bind (cpu) waits in down_write(${MMAP_LOCK})`);
    expect(run.results).toEqual([undefined, undefined]);
  });
});

describe('a group {munmap, unbind} under every schedule with at most 2 preemptions', () => {
  const prefix: Command[] = [...PREFIX, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: false }];
  const group: Command[] = [{ kind: 'munmap', mm: 0, first: 0, count: 1 }, { kind: 'unbind', dev: 0, mm: 0 }];
  // The counts are the explorer's (a change in them is a change in the tasks' yield points: 661
  // and 400 before the unbind took the driver's &uacce->mutex).
  test.each([['vtd', 695], ['amd', 442]] as const)('%s: clean on mainline (no invariant, linearizable): %i schedules', (platform, schedules) => {
    const r = exploreGroup(defaultTopology(platform), prefix, group, 2, 5000);
    expect(r).toEqual({ schedules, complete: true, found: undefined, invariant: undefined });
  });
});
