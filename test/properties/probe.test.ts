import { describe, expect, test } from 'vitest';
import { COMPLETED, TIMED_OUT, attachProbe } from '../../properties/probe.js';
import { driverFor } from '../../src/harness/platforms.js';
import { createWorld, implStep } from '../../src/impl/index.js';
import { userVpn, vpnToVa } from '../../src/shared/index.js';
import { smallTopology } from './hardware/helpers.js';

const boot = (platform: 'vtd' | 'smmuv3') => {
  const world = createWorld(smallTopology(platform), driverFor(platform));
  const probe = attachProbe(world);
  const run = (...cmds: Parameters<typeof implStep>[1][]) => {
    probe.begin();
    for (const c of cmds) implStep(world, c);
  };
  run({ kind: 'spawn', mm: 0 }, { kind: 'mmap', mm: 0, first: 0, count: 4, prot: 'rw' }, { kind: 'touch', mm: 0, page: 0, write: true });
  return { world, probe, run };
};

const kinds = (probe: ReturnType<typeof attachProbe>, u: number): string[] =>
  probe.units[u]!.events.slice(0, probe.units[u]!.n).map((e) => e.kind);

describe('StepProbe', () => {
  test('records a VT-d flush in order, with the wait completion, and the invalidation slice', () => {
    const { probe, run } = boot('vtd');
    run({ kind: 'bind', dev: 0, mm: 0 });
    expect(probe.units[0]!.n).toBe(0);
    run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(kinds(probe, 0)).toEqual(['piotlb', 'devtlb', 'wait', 'completion']);
    expect(probe.units[0]!.events[3]).toBe(COMPLETED);
    expect(probe.units[1]!.n).toBe(0);
    const inv = probe.invalidations;
    expect(inv.n).toBe(1);
    expect([inv.mm[0]!.slot, inv.start[0], inv.end[0]]).toEqual([0, vpnToVa(userVpn(0)), vpnToVa(userVpn(0) + 1)]);
    expect([inv.from[0], inv.to[0], inv.from[1], inv.to[1]]).toEqual([0, 4, 0, 0]);
  });

  test('begin() forgets the previous step', () => {
    const { probe, run } = boot('vtd');
    run({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(probe.units[0]!.n).toBeGreaterThan(0);
    run({ kind: 'gracePeriod' });
    expect([probe.units[0]!.n, probe.invalidations.n, probe.units[0]!.timeouts]).toEqual([0, 0, 0]);
  });

  test('marks each VT-d PASID-cache invalidation with the devices whose entry was still present', () => {
    const { probe, run } = boot('vtd');
    run({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 1, mm: 0 });
    run({ kind: 'unbind', dev: 0, mm: 0 });
    const log = probe.units[0]!;
    const pc = log.events.findIndex((e, k) => k < log.n && e.kind === 'pc');
    // dev0's entry was cleared before the flush; dev1 still holds the PASID.
    expect(log.aux[pc]).toBe(1 << 1);
  });

  test('records SMMU commands, syncs and whether an ATC_INV went out while its CD still translated', () => {
    const { probe, run } = boot('smmuv3');
    run({ kind: 'bind', dev: 0, mm: 0 });
    run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(kinds(probe, 0)).toEqual(['TLBI_NH_VA', 'CMD_SYNC', 'completion', 'ATC_INV', 'CMD_SYNC', 'completion']);
    expect(probe.units[0]!.aux[3]).toBe(1);
    run({ kind: 'unbind', dev: 0, mm: 0 });
    const log = probe.units[0]!;
    const atc = log.events.findIndex((e, k) => k < log.n && e.kind === 'ATC_INV');
    expect(log.aux[atc]).toBe(0);
  });

  test('counts timed-out waits and syncs', () => {
    for (const platform of ['vtd', 'smmuv3'] as const) {
      const { world, probe, run } = boot(platform);
      run({ kind: 'bind', dev: 0, mm: 0 });
      world.devices[0]!.hw.disconnected = true;
      run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
      expect(probe.units[0]!.timeouts).toBe(1);
      expect(probe.units[0]!.events.slice(0, probe.units[0]!.n)).toContain(TIMED_OUT);
    }
  });

  test('grows its invalidation log past the preallocated size', () => {
    const { probe, run, world } = boot('vtd');
    run({ kind: 'bind', dev: 0, mm: 0 });
    const cmds = Array.from({ length: 20 }, () => [
      { kind: 'touch', mm: 0, page: 1, write: false } as const,
      { kind: 'mprotect', mm: 0, page: 1, prot: 'none' } as const,
      { kind: 'mprotect', mm: 0, page: 1, prot: 'rw' } as const,
    ]).flat();
    run(...cmds);
    expect(probe.invalidations.n).toBeGreaterThan(8);
    const i = probe.invalidations.n - 1;
    expect(probe.invalidations.to[i * 2]).toBe(probe.units[0]!.n);
    expect(world.kernel.mem.anomalies).toEqual([]);
  });

  test('records at the notifier call what the kernel objects ask of each invalidation, per unit', () => {
    const vtd = boot('vtd');
    vtd.run({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 2, mm: 0 }, { kind: 'bind', dev: 3, mm: 0 });
    vtd.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const v = vtd.probe.invalidations.inputs;
    // IOMMU 0: one IOTLB tag for the PASID, a DEVTLB tag for ATS dev0 (dev2 has no ATS); IOMMU 1: dev3.
    expect([...v.iotlbTags.slice(0, 2), ...v.devtlbTags.slice(0, 2), ...v.devtlbExtra.slice(0, 2)]).toEqual([1, 1, 1, 1, 0, 0]);
    const smmu = boot('smmuv3');
    smmu.run({ kind: 'bind', dev: 0, mm: 0 }, { kind: 'bind', dev: 1, mm: 0 });
    smmu.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const s = smmu.probe.invalidations.inputs;
    expect([...s.domains.slice(0, 2), ...s.asid.slice(0, 2), ...s.atsStreams.slice(0, 2), ...s.atsDomains.slice(0, 2)]).toEqual([1, 0, 1, -1, 2, 0, 1, 0]);
    expect([s.ownsAsid(0, 1), s.ownsAsid(0, 2)]).toEqual([true, false]);
    // The snapshot stays as it was when the domains go away later.
    smmu.run({ kind: 'unbind', dev: 0, mm: 0 }, { kind: 'unbind', dev: 1, mm: 0 });
    expect(s.ownsAsid(0, 1)).toBe(true);
  });
});
