import { describe, expect, test } from 'vitest';
import { minimizeCounterexample, runSequence } from '../../src/harness/index.js';
import { shrinkTopology } from '../../src/harness/shrinkTopology.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Platform, Topology } from '../../src/shared/index.js';
import { bind, mmap, munmap, spawn, touch, vmalloc } from '../commands.js';

const failsWith = (t: Topology, cmds: readonly Command[], fault: 'B14' | 'B16' | 'B07' | 'B11'): string | undefined => {
  const r = runSequence(t, cmds, { fault });
  return r.ok ? r.value.session.violation?.invariant : `error: ${r.error}`;
};

describe('Topology shrinking', () => {
  test('B14 on the default VT-d topology (2 IOMMUs, 4 devices, 3 mms) shrinks to one IOMMU, one device, one mm, renumbered', () => {
    const t = defaultTopology('vtd');
    // Device 2 sits behind the second IOMMU; mm 2 is the last slot.
    const cmds: Command[] = [spawn(2), bind(2, 2), vmalloc(0), { kind: 'prefetchKernel', dev: 2, mm: 2, kpage: 0 }, { kind: 'vfree', kpage: 0 }];
    expect(failsWith(t, cmds, 'B14')).toBe('I6');
    const small = minimizeCounterexample(t, cmds, 'I6', { fault: 'B14' });
    expect(small.topology.iommus).toHaveLength(1);
    expect(small.topology.devices).toHaveLength(1);
    expect(small.topology.mms).toBe(1);
    expect(small.topology.pages).toBe(1);
    expect(small.topology.kpages).toBe(1);
    // The ids the commands use are renumbered with the topology.
    expect(small.commands).toEqual([spawn(0), bind(0, 0), vmalloc(0), { kind: 'prefetchKernel', dev: 0, mm: 0, kpage: 0 }, { kind: 'vfree', kpage: 0 }]);
    expect(failsWith(small.topology, small.commands, 'B14')).toBe('I6');
  });

  test.each<Platform>(['vtd', 'smmuv3'])('B16 on %s keeps the group peer no command names: without it the bug is gone', (platform) => {
    const d = defaultTopology(platform);
    const t: Topology = { ...d, devices: [{ ...d.devices[0]!, group: 5 }, { ...d.devices[0]!, group: 5, pasidBits: 0, ats: false }, d.devices[2]!] };
    const cmds = [spawn(0), bind(0, 0)];
    const v = failsWith(t, cmds, 'B16');
    expect(v === 'EXC' || v === 'OBS').toBe(true);
    const small = minimizeCounterexample(t, cmds, v!, { fault: 'B16' });
    expect(small.topology.devices).toHaveLength(2);
    expect(small.topology.devices.map((x) => x.pasidBits === 0)).toEqual([false, true]);
    // Groups are renumbered densely: labels only.
    expect(small.topology.devices.map((x) => x.group)).toEqual([0, 0]);
    expect(failsWith(small.topology, small.commands, 'B16')).toBe(v);
  });

  test('A page no command names is dropped: ranges over it shrink, ranges above it move down', () => {
    const t = { ...defaultTopology('smmuv3'), pages: 4 };
    const cmds = [spawn(0), mmap(0, 0, 3), touch(0, 2), bind(0, 0), munmap(0, 2, 1)];
    // Keep anything that still runs (a stand-in predicate), to see the renumbering itself.
    const small = shrinkTopology({ topology: t, commands: cmds }, (c) => runSequence(c.topology, c.commands).ok && c.commands.some((x) => x.kind === 'touch'));
    expect(small.topology.pages).toBe(1);
    expect(small.commands).toEqual([spawn(0), mmap(0, 0, 1), touch(0, 0), bind(0, 0), munmap(0, 0, 1)]);
  });

  test('Nothing that the failure needs goes: the predicate is asked for every removal', () => {
    const t = defaultTopology('vtd');
    const cmds = [spawn(0), bind(0, 0)];
    const same = shrinkTopology({ topology: t, commands: cmds }, () => false);
    expect(same.topology).toBe(t);
    expect(same.commands).toBe(cmds);
  });
});
