import { describe, expect, test } from 'vitest';
import { faultInfo, findFault } from '../../models/index.js';
import { runSequence } from '../../src/harness/index.js';
import { pci_dev_refs } from '../../src/impl/pciRefs.js';
import { defaultTopology } from '../../src/shared/index.js';
import type { Command, Topology } from '../../src/shared/index.js';

/**
 * The shortest reproducer: one page request of a PRI device goes through the PPR handler (the
 * PPR log's IRQ thread), whose pci_get_domain_bus_and_slot reference the v6.10 handler never
 * put; once the last bind goes, the reference is all that is left. (Mainline's PASID removal
 * does not drain the PPR log, finding amd-remove-pasid-no-iopf-flush, so the thread must run
 * before the unbind.)
 */
const HAND: readonly Command[] = [
  { kind: 'spawn', mm: 0 },
  { kind: 'bind', dev: 0, mm: 0 },
  { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
  { kind: 'serviceFaults' },
  { kind: 'unbind', dev: 0, mm: 0 },
];
const base = defaultTopology('amd');
const t: Topology = { ...base, devices: base.devices.map((d, i) => ({ ...d, pri: i === 0 })) };

describe('B31: the v6.10 AMD PPR handler leaks a pci_dev reference per page request (put again in mainline ppr.c)', () => {
  test('Once nothing is bound the leaked reference is what I11 names; with the put nothing is held', () => {
    const bad = runSequence(t, HAND, { fault: 'B31' });
    if (!bad.ok) throw new Error(bad.error);
    expect(bad.value.session.violation).toMatchObject({ invariant: 'I11', step: 4 });
    expect(bad.value.session.violation?.message).toContain('dev0: 1 pci_dev references taken by lookups and never put');
    const good = runSequence(t, HAND);
    if (!good.ok) throw new Error(good.error);
    expect(good.value.session.violation).toBeUndefined();
    expect(pci_dev_refs(good.value.session.world.devices[0]!)).toBe(0);
  });

  // Seed 3 ends at 6 steps: failNext(iommu_mm) then a failing bind ahead of the good one, a pair
  // the one-command-at-a-time deletion pass cannot drop (either alone changes the outcome).
  test.each([1, 2, 3])('findFault finds it on seed %i with an expected invariant, shrunk to at most two steps more than by hand', (seed) => {
    const f = findFault('B31', { platform: 'amd', seed, runs: 400 });
    expect(f.found).toBe(true);
    expect(faultInfo('B31').expected).toContain(f.invariant);
    expect(f.shrunkLength).toBeLessThanOrEqual(HAND.length + 2);
  });
});
