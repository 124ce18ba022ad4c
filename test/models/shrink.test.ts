import { describe, expect, test } from 'vitest';
import { shrinkCommands } from '../../models/shrink.js';
import { runSequence } from '../../src/harness/index.js';
import { defaultTopology } from '../../src/shared/index.js';
import { bind, dma, exit, fork, grace, mmap, spawn, touch, unbind } from '../commands.js';

const t = defaultTopology('vtd');

describe('Shrinking drawn sequences', () => {
  test('Padding around B01 goes, including commands that only a deleted one made legal', () => {
    const padded = [
      spawn(1), mmap(1, 0, 2), touch(1, 0), bind(2, 1), dma(2, 1, 0), unbind(2, 1), grace,
      spawn(0), mmap(0, 2, 1), bind(0, 0), touch(0, 2), exit(0),
    ];
    const r = runSequence(t, padded, { fault: 'B01' });
    expect(r.ok && r.value.session.violation?.invariant).toBe('I1');
    expect(shrinkCommands(t, padded, 'I1', { fault: 'B01' })).toEqual([spawn(0), bind(0, 0), exit(0)]);
  });

  test('A fork is tried as a spawn of its child, so the parent goes too', () => {
    const cmds = [spawn(0), fork(0, 1), bind(0, 1), unbind(0, 1)];
    const r = runSequence(t, cmds, { fault: 'B02' });
    expect(r.ok && r.value.session.violation?.invariant).toBe('I1');
    expect(shrinkCommands(t, cmds, 'I1', { fault: 'B02' })).toEqual([spawn(1), bind(0, 1), unbind(0, 1)]);
  });

  test('A sequence that does not break the invariant is returned as it is', () => {
    const cmds = [spawn(0), bind(0, 0), exit(0)];
    expect(shrinkCommands(t, cmds, 'I1')).toEqual(cmds);
  });
});
