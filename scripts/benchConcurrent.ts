/**
 * The concurrent figures of `npm run bench` (issue 16): groups (schedules) per second and
 * checked yields (scheduling points, each followed by the at-yield invariants) per second, per
 * platform and scheduler, on a fixed workload; and the preemption-bounded explorer's schedules
 * per second on one fixed small group.
 *
 * The workload is a pure function of the seed: the bench's legal sequences, and every
 * GROUP_EVERY-th step a group drawn as the state-aware generator draws one (models/groups.ts
 * drawGroup, from a seeded Rng), run by runChecked under the random scheduler or PCT (d = 2),
 * alternately. Only runChecked is timed (the whole checked group: scheduling, at-yield checks,
 * linearization, quiescent invariants); the sequential steps between groups are not.
 */
import { Rng } from '../models/rng.js';
import { drawGroup } from '../models/groups.js';
import { checkedStep, exploreGroup, openSession } from '../src/harness/index.js';
import { runChecked } from '../src/harness/group.js';
import { pctPolicy, randomPolicy } from '../src/sched/policies.js';
import { COMMAND_KINDS, defaultTopology } from '../src/shared/index.js';
import type { Command, CommandKind, Platform } from '../src/shared/index.js';
import { precondition } from '../src/spec/index.js';

/** A group is tried every GROUP_EVERY steps of a sequence. */
const GROUP_EVERY = 4;
/** PCT's k guess per member (as models/groups.ts before a run's first group). */
const PCT_POINTS_PER_MEMBER = 16;
const ALL_KINDS: ReadonlySet<CommandKind> = new Set(COMMAND_KINDS);

export interface ConcurrentRate {
  readonly scheduler: 'random' | 'pct';
  readonly groups: number;
  readonly points: number;
  readonly violating: number;
  /** The invariants of the violating groups (the correct impl should have none). */
  readonly invariants: readonly string[];
  readonly ms: number;
  readonly cpuMs: number;
}

/** One pass of the group workload over `seqs` on `platform`; one figure per scheduler. */
export const groupPass = (platform: Platform, seqs: readonly Command[][], seed: number): ConcurrentRate[] => {
  const t = defaultTopology(platform);
  const acc = {
    random: { groups: 0, points: 0, violating: 0, invariants: [] as string[], ms: 0, cpu: 0 },
    pct: { groups: 0, points: 0, violating: 0, invariants: [] as string[], ms: 0, cpu: 0 },
  };
  let n = 0;
  seqs.forEach((cmds, si) => {
    const rng = new Rng(seed + si);
    const s = openSession(t);
    for (let i = 0; i < cmds.length; i++) {
      if (s.violation !== undefined || s.ended) break;
      if (i % GROUP_EVERY === GROUP_EVERY - 1) {
        const members = drawGroup(s, ALL_KINDS, rng);
        if (members !== undefined) {
          const pct = n++ % 2 === 1;
          const gseed = rng.below(0x7fffffff);
          const policy = pct ? pctPolicy(gseed, 2, members.length * PCT_POINTS_PER_MEMBER) : randomPolicy(gseed);
          const a = pct ? acc.pct : acc.random;
          const c0 = process.cpuUsage();
          const t0 = performance.now();
          const r = runChecked(s, members, policy, { scheduler: pct ? 'pct' : 'random', seed: gseed, ...(pct ? { depth: 2 } : {}) });
          a.ms += performance.now() - t0;
          const c = process.cpuUsage(c0);
          a.cpu += (c.user + c.system) / 1000;
          a.groups++;
          a.points += r.run?.points ?? 0;
          if (r.found.length > 0) {
            a.violating++;
            for (const v of r.found) if (!a.invariants.includes(v.invariant)) a.invariants.push(v.invariant);
          }
          continue;
        }
      }
      // The sequence was made legal for the sequential run: after a group a command may not be.
      if (precondition(s.spec, cmds[i]!)) checkedStep(s, cmds[i]!);
    }
  });
  return (['random', 'pct'] as const).map((k) => ({ scheduler: k, groups: acc[k].groups, points: acc[k].points, violating: acc[k].violating, invariants: acc[k].invariants, ms: acc[k].ms, cpuMs: acc[k].cpu }));
};

/** The explorer's fixed group: two binds of one mm racing (test/harness/group.test.ts's), after a small prefix. */
const EXPLORE_PREFIX: readonly Command[] = [
  { kind: 'spawn', mm: 1 }, { kind: 'mmap', mm: 1, first: 0, count: 3, prot: 'rw' }, { kind: 'touch', mm: 1, page: 2, write: true },
];
const EXPLORE_GROUP: readonly Command[] = [{ kind: 'bind', dev: 0, mm: 1 }, { kind: 'bind', dev: 2, mm: 1 }];

export interface ExploreRate {
  readonly preemptions: number;
  readonly schedules: number;
  readonly complete: boolean;
  readonly ms: number;
  readonly cpuMs: number;
}

/** exploreGroup on the fixed group: every schedule with at most `preemptions` preemptions (up to `limit`). */
export const explorePass = (platform: Platform, preemptions: number, limit: number): ExploreRate => {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = exploreGroup(defaultTopology(platform), EXPLORE_PREFIX, EXPLORE_GROUP, preemptions, limit);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  if (r.found !== undefined) throw new Error(`bench: the explorer found ${r.invariant} on the correct ${platform} impl`);
  return { preemptions, schedules: r.schedules, complete: r.complete, ms, cpuMs: (c.user + c.system) / 1000 };
};
