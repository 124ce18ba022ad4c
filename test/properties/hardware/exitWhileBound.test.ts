import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { exitWhileBound } from '../../../properties/hardware/exitWhileBound.js';
import type { AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { dev_iommu_priv_get as amdDevData } from '../../../src/impl/amd/structs.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { userVpn } from '../../../src/shared/index.js';
import { bench, holdsOnRandomWalks, ids, muteNotifier, setup } from './helpers.js';

describe('I9 exit while bound', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(exitWhileBound, platform);
  });

  test.each(PLATFORMS)('holds when a bound device keeps DMAing after exit on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0, 3]);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'exit', mm: 0 });
    expect(b.check(exitWhileBound)).toEqual([]);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false }, { kind: 'dma', dev: 3, mm: 0, page: 1, write: true });
    expect(b.check(exitWhileBound)).toEqual([]);
    expect(b.ctx.actual.ok).toBe(false);
  });

  test.each(PLATFORMS)('fires when release does not block the entries on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    muteNotifier(b, 0, 'release');
    b.run({ kind: 'exit', mm: 0 });
    const v = b.check(exitWhileBound);
    expect(ids(v)).toEqual(['I9']);
    expect(v[0]!.objects).toEqual({ dev: 0, pasid: 1, mm: 0 });
  });

  test.each(PLATFORMS)('fires when a walk reads the freed page tables of the exited mm on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    muteNotifier(b, 0, 'release');
    b.run({ kind: 'exit', mm: 0 });
    // The IOTLB/TLB entry was never flushed; drop it so the next DMA walks through the cached walk.
    const unit = b.world.iommus[0]!.unit;
    if (platform === 'vtd') (unit as VtdUnit).iotlb.drop(1, 1, userVpn(0));
    else if (platform === 'amd') (unit as AmdIommuUnit).iotlb.invalidatePasid(amdDevData(b.world.devices[0]!).gcr3_info.domid, 1);
    else (unit as unknown as { tlb: { invalidateAsid(a: number): void } }).tlb.invalidateAsid(1);
    b.world.devices[0]!.hw.atcInvalidate(undefined, 0, Infinity);
    b.run({ kind: 'dma', dev: 0, mm: 0, page: 0, write: false });
    const v = b.check(exitWhileBound);
    expect(v.some((x) => /walked a freed page-table page/.test(x.message))).toBe(true);
  });
});
