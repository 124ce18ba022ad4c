import { describe, expect, it } from 'vitest';
import { type LinPoint, linearizePoints } from '../../src/sched/linearize.js';
import type { GroupTask } from '../../src/sched/types.js';

const task = (name: string, firstAt: number, doneAt: number): GroupTask => ({ name, kind: 'cpu', firstAt, doneAt });
const label = (seq: readonly LinPoint[]): string => seq.map((p) => `${p.member}${p.point === 0 ? '' : "'"}`).join(' ');

/** Every sequence the search offers, in the order offered (accepts nothing). */
const offered = (tasks: readonly GroupTask[], points: readonly number[], mayEnter: (i: number, owner: number) => boolean): string[] => {
  const out: string[] = [];
  linearizePoints(tasks, { points, mayEnter }, (seq) => (out.push(label(seq)), false));
  return out;
};

describe('linearizePoints', () => {
  it('a two-point member (0) and a device access (1), overlapping: the access before, inside or after the window', () => {
    expect(offered([task('replace', 0, 9), task('dma', 1, 2)], [2, 1], () => true)).toEqual(["0 0' 1", "0 1 0'", "1 0 0'"]);
  });

  it('a member that may not enter the window goes only before or after it', () => {
    expect(offered([task('replace', 0, 9), task('bind', 1, 2)], [2, 1], (i) => i !== 1)).toEqual(["0 0' 1", "1 0 0'"]);
  });

  it('real time holds for both points: an access that finished before the replace began precedes its teardown', () => {
    expect(offered([task('replace', 5, 9), task('dma', 1, 2)], [2, 1], () => true)).toEqual(["1 0 0'"]);
    // And one that began after the replace returned follows its setup.
    expect(offered([task('replace', 0, 3), task('dma', 4, 6)], [2, 1], () => true)).toEqual(["0 0' 1"]);
  });

  it('two windows may overlap where each lets the other in (replaces of two groups run under two group mutexes); the search stops at the first accepted', () => {
    const all = offered([task('r0', 0, 9), task('r1', 0, 9)], [2, 2], () => true);
    // C(4, 2) interleavings of two ordered pairs.
    expect(all).toHaveLength(6);
    // Where neither lets the other in, the two windows do not overlap.
    expect(offered([task('r0', 0, 9), task('r1', 0, 9)], [2, 2], () => false)).toEqual(["0 0' 1 1'", "1 1' 0 0'"]);
    // A window that admits one member but not the other: 0's admits 2, 2's (serviceFaults-like, three passes) admits everyone.
    const mixed = offered([task('m', 0, 9), task('b', 0, 9), task('s', 0, 9)], [2, 1, 2], (i, owner) => owner === 2 || i === 2);
    expect(mixed).toContain("0 2 0' 1 2'");
    expect(mixed.some((l) => /^0 1/.test(l) || / 0 1 0'/.test(l))).toBe(false);
    const found = linearizePoints([task('r0', 0, 9), task('dma', 0, 9)], { points: [2, 1], mayEnter: () => true }, (seq) => label(seq) === "0 1 0'");
    expect(found).toEqual([{ member: 0, point: 0 }, { member: 1, point: 0 }, { member: 0, point: 1 }]);
  });
});
