import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LinPoint, type PointRules, type PointSearch, linearizePoints, searchPoints } from '../../src/sched/linearize.js';
import type { GroupTask } from '../../src/sched/types.js';

const task = (firstAt: number, doneAt: number): GroupTask => ({ name: 't', kind: 'cpu', firstAt, doneAt });
const label = (seq: readonly LinPoint[]): string => seq.map((p) => `${p.member}.${p.point}`).join(' ');

/**
 * A toy spec: a register each point rewrites (x ← x·m + c, with m, c per point and per root), so
 * different orders mostly differ and some commute (m = 1 points add).
 */
interface Toy {
  readonly root: number;
  x: number;
  steps: number;
}
type Coef = (root: number, p: LinPoint) => readonly [number, number];
const apply = (coef: Coef, s: Toy, p: LinPoint): void => {
  const [m, c] = coef(s.root, p);
  s.x = (s.x * m + c) % 1009;
  s.steps++;
};

/** The same question answered by replaying every (sequence, root) pair from scratch, as runChecked did. */
const fromScratch = (tasks: readonly GroupTask[], rules: PointRules, roots: number, coef: Coef, dead: (x: number, p: LinPoint) => boolean, ok: (seq: string, s: Toy) => boolean) => {
  let root = -1;
  const seq = linearizePoints(tasks, rules, (q) => {
    for (let r = 0; r < roots; r++) {
      const s: Toy = { root: r, x: 1, steps: 0 };
      let alive = true;
      for (const p of q) {
        apply(coef, s, p);
        if (dead(s.x, p)) {
          alive = false;
          break;
        }
      }
      if (alive && ok(label(q), s)) {
        root = r;
        return true;
      }
    }
    return false;
  });
  return { seq: seq === undefined ? undefined : label(seq), root };
};

const shared = (tasks: readonly GroupTask[], rules: PointRules, roots: number, coef: Coef, dead: (x: number, p: LinPoint) => boolean, ok: (seq: string, s: Toy) => boolean, memo: boolean) => {
  let root = -1;
  let steps = 0;
  const search: PointSearch<Toy> = {
    fork: (s) => ({ ...s }),
    step: (s, p) => {
      steps++;
      apply(coef, s, p);
      return !dead(s.x, p);
    },
    accept: (q, live) => {
      for (const s of live) {
        if (ok(label(q), s)) {
          root = s.root;
          return true;
        }
      }
      return false;
    },
    ...(memo ? { key: (s: Toy) => `${s.root}:${s.x}` } : {}),
  };
  const seq = searchPoints(tasks, rules, Array.from({ length: roots }, (_, r): Toy => ({ root: r, x: 1, steps: 0 })), search);
  return { seq: seq === undefined ? undefined : label(seq), root, steps };
};

describe('searchPoints', () => {
  it('steps each root once per prefix: two one-point members and a three-point one', () => {
    const tasks = [task(0, 9), task(0, 9), task(0, 9)];
    const rules: PointRules = { points: [1, 1, 3], mayEnter: () => true };
    const coef: Coef = (_, p) => [p.member + 2, p.point + 1];
    const r = shared(tasks, rules, 1, coef, () => false, () => false, false);
    // 5!/3! = 20 sequences of 5 points: 100 points from scratch. The prefix tree has an edge per
    // distinct non-empty prefix: Σ (a+b+c)!/(a! b! c!) over a, b ≤ 1, c ≤ 3, less the empty one.
    expect(r.seq).toBeUndefined();
    expect(r.steps).toBe(63);
  });

  it('a prefix whose step says no sequence through it can be accepted is not extended', () => {
    const tasks = [task(0, 9), task(0, 9)];
    const rules: PointRules = { points: [2, 1], mayEnter: () => true };
    const seen: string[] = [];
    searchPoints<string[]>(tasks, rules, [[]], {
      fork: (s) => s.slice(),
      step: (s, p) => (s.push(`${p.member}.${p.point}`), s.join(' ') !== '1.0'),
      accept: (q) => (seen.push(label(q)), false),
    });
    expect(seen).toEqual(['0.0 0.1 1.0', '0.0 1.0 0.1']);
  });

  it('the memo drops a state met before at the same prefix, and the accepted sequence and root stay those of the full search', () => {
    // Points that commute (adds): every order of the two members' points reaches the same x.
    const tasks = [task(0, 9), task(0, 9)];
    const rules: PointRules = { points: [4, 4], mayEnter: () => true };
    const coef: Coef = (root, p) => [1, root + p.member * 4 + p.point + 1];
    const ok = (q: string, s: Toy): boolean => q === '1.0 1.1 1.2 1.3 0.0 0.1 0.2 0.3' && s.root === 1;
    const plain = shared(tasks, rules, 2, coef, () => false, ok, false);
    const memo = shared(tasks, rules, 2, coef, () => false, ok, true);
    expect(memo.seq).toBe('1.0 1.1 1.2 1.3 0.0 0.1 0.2 0.3');
    expect(memo).toMatchObject({ seq: plain.seq, root: plain.root });
    // Two roots, each stepped on every non-empty prefix: Σ C(a+b, a) over a, b ≤ 4 is C(10, 5) − 1, less the empty one.
    expect(plain.steps).toBe(500);
    // The memo keys only where both members have placed points and four or more orders remain.
    expect(memo.steps).toBe(144);
  });

  it('with or without the memo, prefix sharing and pruning give what replaying every pair from scratch gives', () => {
    const instance = fc.record({
      points: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 2, maxLength: 3 }),
      spans: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 4 })), { minLength: 3, maxLength: 3 }),
      enter: fc.array(fc.boolean(), { minLength: 27, maxLength: 27 }),
      roots: fc.integer({ min: 1, max: 3 }),
      // Per (root, member, point): a multiplier of 1 (commuting adds) or not, and an addend.
      ms: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 27, maxLength: 27 }),
      cs: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 27, maxLength: 27 }),
      deadAt: fc.integer({ min: 0, max: 1008 }),
      target: fc.integer({ min: 0, max: 1008 }),
    });
    fc.assert(fc.property(instance, (k) => {
      const n = k.points.length;
      const tasks = k.spans.slice(0, n).map(([a, b]) => task(Math.min(a, b), Math.max(a, b)));
      const rules: PointRules = { points: k.points, mayEnter: (i, owner, after) => k.enter[(i * 3 + owner) * 3 + after - 1] ?? true };
      const at = (root: number, p: LinPoint): number => (root * 3 + p.member) * 3 + p.point;
      const coef: Coef = (root, p) => [k.ms[at(root, p)]!, k.cs[at(root, p)]!];
      const dead = (x: number): boolean => x === k.deadAt;
      const ok = (_: string, s: Toy): boolean => s.x === k.target || s.x % 7 === k.target % 7;
      const want = fromScratch(tasks, rules, k.roots, coef, dead, ok);
      const plain = shared(tasks, rules, k.roots, coef, dead, ok, false);
      const memo = shared(tasks, rules, k.roots, coef, dead, ok, true);
      expect({ seq: plain.seq, root: plain.root }).toEqual(want);
      expect({ seq: memo.seq, root: memo.root }).toEqual(want);
    }), { numRuns: 400, seed: 11 });
  });
});
