import { describe, expect, test } from 'vitest';
import { minimizeCommands, runSequence } from '../../src/harness/index.js';
import { type Command, defaultTopology } from '../../src/shared/index.js';

const t = defaultTopology('vtd');
const spawn = (mm: number): Command => ({ kind: 'spawn', mm });
const bind = (dev: number, mm: number): Command => ({ kind: 'bind', dev, mm });
// B01: the PASID is dropped in __mmput, so exit while bound already breaks I1.
const HAND: readonly Command[] = [spawn(0), bind(0, 0), { kind: 'exit', mm: 0 }];
const PADDED: readonly Command[] = [
  { kind: 'gracePeriod' }, spawn(1), spawn(0), { kind: 'mmap', mm: 0, first: 0, count: 2, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 1, write: true }, bind(2, 1), bind(0, 0), { kind: 'dma', dev: 0, mm: 0, page: 1, write: false },
  { kind: 'gracePeriod' }, { kind: 'exit', mm: 0 },
];

const invariantOf = (cmds: readonly Command[], fault?: 'B01'): string | undefined => {
  const r = runSequence(t, cmds, fault === undefined ? {} : { fault });
  return r.ok ? r.value.session.violation?.invariant : `error: ${r.error}`;
};

describe('minimizeCommands', () => {
  test('Deletes every command the failure does not need, down to the hand-written sequence', () => {
    expect(invariantOf(PADDED, 'B01')).toBe('I1');
    const min = minimizeCommands(t, PADDED, 'I1', { fault: 'B01' });
    expect(min).toEqual(HAND);
  });

  test('The result is 1-minimal: removing any one command loses the failure', () => {
    const min = minimizeCommands(t, PADDED, 'I1', { fault: 'B01' });
    for (let i = 0; i < min.length; i++) {
      expect(invariantOf([...min.slice(0, i), ...min.slice(i + 1)], 'B01')).not.toBe('I1');
    }
  });

  test('A sequence that does not break the invariant is returned as it was', () => {
    expect(minimizeCommands(t, PADDED, 'I1')).toBe(PADDED);
    expect(minimizeCommands(t, PADDED, 'I6', { fault: 'B01' })).toBe(PADDED);
  });
});
