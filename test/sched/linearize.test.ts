import { describe, expect, it } from 'vitest';
import { linearize } from '../../src/sched/linearize.js';
import type { GroupTask } from '../../src/sched/types.js';

const task = (name: string, firstAt: number, doneAt: number): GroupTask => ({ name, kind: 'cpu', firstAt, doneAt });

/** A register starting at 0: writes return nothing, reads what the last write stored. */
type Op = { w: number } | { r: number };
const register = (ops: readonly Op[]) => (order: readonly number[]): boolean => {
  let v = 0;
  for (const i of order) {
    const op = ops[i]!;
    if ('w' in op) v = op.w;
    else if (op.r !== v) return false;
  }
  return true;
};

describe('linearize', () => {
  it('finds the one order that explains overlapping operations', () => {
    // write(1) overlaps both; write(2) finished before read() = 1 began: only w2, w1, r explains it.
    const tasks = [task('w1', 0, 5), task('w2', 1, 3), task('r', 4, 7)];
    const ops: Op[] = [{ w: 1 }, { w: 2 }, { r: 1 }];
    const tried: string[] = [];
    const order = linearize(tasks, 3, (o) => (tried.push(o.join('')), register(ops)(o)));
    expect(order).toEqual([1, 0, 2]);
    // 021 and 120 put the read before write(2), which finished before the read began: never asked.
    expect(tried).toEqual(['012', '102']);
  });

  it('honours real time: an order that explains the values but reverses finished-before is rejected', () => {
    // write(1) finished (point 2) before read() started (point 3), and the read saw 0.
    const tasks = [task('w1', 0, 2), task('r', 3, 4)];
    const ops: Op[] = [{ w: 1 }, { r: 0 }];
    const tried: string[] = [];
    expect(linearize(tasks, 2, (o) => (tried.push(o.join('')), register(ops)(o)))).toBeUndefined();
    // Only the real-time order was asked; read-before-write would have explained r = 0.
    expect(tried).toEqual(['01']);
    expect(register(ops)([1, 0])).toBe(true);
  });

  it('the same values overlapping are linearizable (read before write)', () => {
    const tasks = [task('w1', 0, 3), task('r', 1, 2)];
    expect(linearize(tasks, 2, register([{ w: 1 }, { r: 0 }]))).toEqual([1, 0]);
  });

  it('a member that never finished constrains nothing; a history no order explains is undefined', () => {
    const tasks = [task('w1', 0, -1), task('r1', 1, 2), task('r2', 3, 4)];
    // r1 saw 1 and r2, strictly later, saw 0: no order of a register explains it.
    expect(linearize(tasks, 3, register([{ w: 1 }, { r: 1 }, { r: 0 }]))).toBeUndefined();
    expect(linearize(tasks, 3, register([{ w: 1 }, { r: 0 }, { r: 1 }]))).toEqual([1, 0, 2]);
  });
});
