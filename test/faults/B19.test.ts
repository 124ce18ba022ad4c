import { describe, expect, test } from 'vitest';
import { findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { type Command, type Topology, defaultTopology } from '../../src/shared/index.js';

const vtd = defaultTopology('vtd');
/** dev0 a PRI device alone in its group: its unplug's PRQ drain times out (finding vtd-drain-devtlb-absent). */
const t: Topology = { ...vtd, devices: vtd.devices.map((d, i) => (i === 0 ? { ...d, pri: true } : d)) };

/**
 * The shortest reproducer: one invalidation batch of two descriptors (munmap of a populated
 * page of the mm bound to an ATS device: P_IOTLB + devTLB + wait, three slots) moves the later waits to
 * even slots; the unplug's PRQ drain then times out at a wait in an even slot. Before
 * fe89277c9ceb qi_check_fault walked from head | 1 by steps of 2 and never met that tail.
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'mmap', mm: 0, first: 0, count: 1, prot: 'rw' },
  { kind: 'touch', mm: 0, page: 0, write: true },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'munmap', mm: 0, first: 0, count: 1 },
  { kind: 'unplug', dev: 0 },
];

describe('B19: the ITE abort walk steps by 2 (fixed by fe89277c9ceb)', () => {
  test('After an odd batch the time-out\'s wait sits in an even slot: the old walk never ends (I-SPLAT: hard lockup)', () => {
    const bad = runSequence(t, HAND, { fault: 'B19' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I-SPLAT', step: 5 });
    expect(bad.value.session.violation!.message).toContain('hard LOCKUP');
    // Mainline walks every slot back to the tail: the time-out is only the known finding.
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(good.value.session.known).toEqual([{ finding: 'vtd-drain-devtlb-absent', step: 5, invariants: ['I-QUEUE'] }]);
  });

  test('Without the odd batch every wait sits in an odd slot and the old walk ends too', () => {
    const r = runSequence(t, [HAND[0]!, HAND[3]!, HAND[5]!], { fault: 'B19' });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  test('With the drain\'s proposed fix there is no time-out, so nothing for the walk to do', () => {
    const r = runSequence(t, HAND, { fault: 'B19', fixes: ['vtd-drain-devtlb-absent'], strict: true });
    expect(r.ok && r.value.session.violation).toBeUndefined();
  });

  // An ITE needs an ATS invalidation to a device that is gone. The generators unplug VT-d PRI
  // devices (commit 246768b), whose unplug drains the PRQ and times out at the devTLB wait
  // (finding vtd-drain-devtlb-absent): the old walk then runs, so the search finds B19 (its
  // shrunk length depends on the random topology: 6 to 14 commands in bench/faults.md).
  test('The generators find it', () => {
    const f = findFault('B19', { platform: 'vtd', seed: 1, runs: 400 });
    expect(f.found).toBe(true);
    expect(f.invariant).toBe('I-SPLAT');
    expect(f.expected).toBe(true);
  });
});
