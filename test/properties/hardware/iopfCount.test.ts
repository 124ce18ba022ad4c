import { describe, expect, test } from 'vitest';
import { iopfCount } from '../../../properties/hardware/iopfCount.js';
import { dev_iommu_priv_get as amdDevData } from '../../../src/impl/amd/structs.js';
import { dev_iommu_priv_get as smmuMaster } from '../../../src/impl/smmuv3/structs.js';
import { dev_iommu_priv_get as vtdInfo } from '../../../src/impl/vtd/dmar.js';
import type { Device } from '../../../src/impl/index.js';
import { holdsOnRandomWalks, ids } from './helpers.js';
import { priHoldsOnRandomWalks, priSetup } from './priHelpers.js';

const PLATFORMS = ['vtd', 'smmuv3'] as const;

/** The driver's IOPF reference count of a device, read and written. */
const refcount = (platform: 'vtd' | 'smmuv3', dev: Device): { get(): number; set(n: number): void } =>
  platform === 'vtd'
    ? { get: () => vtdInfo(dev).iopf_refcount, set: (n) => { vtdInfo(dev).iopf_refcount = n; } }
    : { get: () => smmuMaster(dev).iopf_refcount, set: (n) => { smmuMaster(dev).iopf_refcount = n; } };

describe('I-IOPF-COUNT holds on states the real impl produced', () => {
  test.each(PLATFORMS)('on random legal walks, with and without PRI endpoints, on %s', (platform) => {
    holdsOnRandomWalks(iopfCount, platform);
    expect(priHoldsOnRandomWalks(iopfCount, platform, 4, 250)).toBeGreaterThan(5);
  });

  test.each(PLATFORMS)('one reference per bound PASID of a PRI device, none after the last unbind, on %s', (platform) => {
    const b = priSetup(platform);
    const dev = b.world.devices[0]!;
    expect(refcount(platform, dev).get()).toBe(1);
    b.run({ kind: 'spawn', mm: 1 }, { kind: 'bind', dev: 0, mm: 1 });
    expect(refcount(platform, dev).get()).toBe(2);
    expect(b.check(iopfCount)).toEqual([]);
    b.run({ kind: 'unbind', dev: 0, mm: 1 }, { kind: 'unbind', dev: 0, mm: 0 });
    expect(refcount(platform, dev).get()).toBe(0);
    expect(b.check(iopfCount)).toEqual([]);
  });
});

describe('I-IOPF-COUNT fires on crafted bad states', () => {
  test.each(PLATFORMS)('a count above the attached IOPF domains (a lost disable), on %s', (platform) => {
    const b = priSetup(platform);
    refcount(platform, b.world.devices[0]!).set(2);
    const v = b.check(iopfCount);
    expect(ids(v)).toEqual(['I-IOPF-COUNT']);
    expect(v[0]!.message).toMatch(/iopf_refcount is 2, but 1 IOPF-capable domain/);
  });

  test.each(PLATFORMS)('a negative count (a disable without an enable), on %s', (platform) => {
    const b = priSetup(platform);
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    refcount(platform, b.world.devices[0]!).set(-1);
    expect(b.check(iopfCount).map((x) => x.message)).toContainEqual(expect.stringMatching(/is -1: disabled more often than enabled/));
  });

  test.each(PLATFORMS)('a count on a device that cannot take faults, on %s', (platform) => {
    const b = priSetup(platform);
    b.run({ kind: 'bind', dev: 1, mm: 0 });
    refcount(platform, b.world.devices[1]!).set(1);
    expect(b.check(iopfCount).map((x) => x.message)).toContainEqual(expect.stringMatching(/dev1: iopf_refcount is 1, but 0 .*cannot take faults/));
  });
});

describe('I-IOPF-COUNT on AMD (no count: fault-queue membership follows dev_data->ppr)', () => {
  test('holds on random legal walks, with and without PRI endpoints; binds and unbinds leave the queue alone', () => {
    holdsOnRandomWalks(iopfCount, 'amd');
    expect(priHoldsOnRandomWalks(iopfCount, 'amd', 4, 250)).toBeGreaterThan(5);
    const b = priSetup('amd');
    expect(amdDevData(b.world.devices[0]!).ppr).toBe(true);
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(amdDevData(b.world.devices[0]!).ppr).toBe(true);
    expect(b.check(iopfCount)).toEqual([]);
  });

  test('fires when dev_data->ppr disagrees with the fault queue', () => {
    const b = priSetup('amd');
    amdDevData(b.world.devices[0]!).ppr = false;
    const v = b.check(iopfCount);
    expect(ids(v)).toEqual(['I-IOPF-COUNT']);
    expect(v[0]!.message).toMatch(/dev_data->ppr is clear but the device is on the IOMMU's fault queue/);
  });

  test('fires when a device without PRI enabled has dev_data->ppr', () => {
    const b = priSetup('amd');
    const d = amdDevData(b.world.devices[0]!);
    d.pri_enabled = false;
    expect(b.check(iopfCount).map((x) => x.message)).toContainEqual(expect.stringMatching(/dev_data->ppr is set but PRI is not enabled/));
  });
});
