import type { AmdIommu } from '../../../src/impl/amd/structs.js';
import { FINDING_NAMES, PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { queueLiveness } from '../../../properties/hardware/queueLiveness.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { bench, holdsOnRandomWalks, ids, setup } from './helpers.js';

describe('I-QUEUE queues are not hung', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(queueLiveness, platform);
  });

  test('holds when a surprise-removed device is unbound: the B15 guard skips its devTLB (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.world.devices[0]!.hw.disconnected = true;
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(queueLiveness)).toEqual([]);
  });

  test('fires when a surprise-removed device is unbound: the SMMUv3 port has no such guard', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.world.devices[0]!.hw.disconnected = true;
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(queueLiveness).map((x) => x.message)).toEqual([expect.stringMatching(/^smmu0: \d+ CMD_SYNCs timed out/)]);
  });

  test.each(PLATFORMS)('fires when an invalidation reaches a surprise-removed device on %s', (platform) => {
    // The bench runs with every proposed fix; vtd-drain-devtlb-absent's skips a removed device
    // in cache_tag_flush_devtlb_psi, so VT-d's invalidation reaches it only as mainline sends it.
    const b = bench(platform, undefined, undefined, FINDING_NAMES.filter((f) => f !== 'vtd-drain-devtlb-absent'));
    setup(b, 0, [0]);
    b.world.devices[0]!.hw.disconnected = true;
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const v = b.check(queueLiveness);
    expect(ids(v)).toEqual(['I-QUEUE']);
    expect(v[0]!.message).toMatch(/timed out/);
  });

  test('fires when the queue is left stopped with ITE set (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.world.devices[0]!.hw.disconnected = true;
    const u = b.world.iommus[0]!.unit as VtdUnit;
    u.submit({ kind: 'devtlb', sid: 0, pasid: 1, global: false, addr: 0, sizeOrder: 0 });
    u.submit({ kind: 'wait', fence: false, drain: false });
    u.submit({ kind: 'piotlb', granularity: 'pasid', did: 1, pasid: 1 });
    expect(b.check(queueLiveness).map((x) => x.message)).toEqual([
      expect.stringContaining('1 invalidation waits timed out'),
      'vtd0: ITE still set: the invalidation queue is stopped',
      'vtd0: 1 descriptors queued without a completed wait',
    ]);
  });
});

describe('I-QUEUE on AMD', () => {
  test('fires when an unbind after surprise removal sends INVALIDATE_IOTLB_PAGES: the v6.19-rc driver has no disconnected check', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    b.world.devices[0]!.hw.disconnected = true;
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(queueLiveness).map((x) => x.message)).toEqual([expect.stringMatching(/^amd0: \d+ IOTLB invalidations timed out \(IOTLB_INV_TIMEOUT/)]);
  });

  test('fires when a command is left without a COMPLETION_WAIT, and when the semaphore lags the driver', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    const iommu = b.world.iommus[0] as AmdIommu;
    iommu.unit.submit({ kind: 'INVALIDATE_DEVTAB_ENTRY', devid: 0 });
    iommu.cmd_sem_val++;
    expect(b.check(queueLiveness).map((x) => x.message)).toEqual([
      'amd0: 1 commands without a completed COMPLETION_WAIT',
      expect.stringMatching(/^amd0: completion semaphore \d+, the driver waited for \d+$/),
    ]);
  });
});
