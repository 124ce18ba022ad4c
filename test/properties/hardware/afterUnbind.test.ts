import type { AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { didPasidKey } from '../../../src/hw/vtd/iotlb.js';
import { dev_iommu_priv_get as amdDevData } from '../../../src/impl/amd/structs.js';
import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { afterUnbind } from '../../../properties/hardware/afterUnbind.js';
import type { SmmuCmd, SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { QiDesc } from '../../../src/hw/vtd/descriptor.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { userVpn } from '../../../src/shared/index.js';
import { bench, holdsOnRandomWalks, ids, setup, wrapSubmit } from './helpers.js';

const dma = (dev: number, mm: number, page: number) => ({ kind: 'dma', dev, mm, page, write: false }) as const;

describe('I8 after the last unbind', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(afterUnbind, platform);
  });

  test.each(PLATFORMS)('holds when a second device keeps the IOMMU tag alive on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0, 1]);
    b.run(dma(0, 0, 0), dma(1, 0, 1), { kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(afterUnbind)).toEqual([]);
    b.run({ kind: 'unbind', dev: 1, mm: 0 });
    expect(b.check(afterUnbind)).toEqual([]);
  });

  test('fires when detach skips the device-TLB invalidation and a page request stays queued (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    const u = b.world.iommus[0]!.unit as VtdUnit;
    wrapSubmit<QiDesc>(u, (d, submit) => (d.kind === 'devtlb' ? undefined : submit(d)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    u.prq.append({ sid: 0, pasidPresent: true, pasid: 1, vpn: userVpn(0), write: false, lpig: true, prgi: 0 });
    const v = b.check(afterUnbind);
    expect(ids(v)).toEqual(['I8']);
    expect(v.map((x) => x.message)).toEqual([
      'dev0 ATC keeps 1 entries for PASID 1 after the last unbind',
      'vtd0: page requests of dev0 PASID 1 still queued',
    ]);
  });

  test('fires when detach leaves the entry present and the IOTLB filled (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    const u = b.world.iommus[0]!.unit as VtdUnit;
    const table = u.pasidTable(0)!;
    const write = table.write.bind(table);
    table.write = (pasid, e) => (e.present ? write(pasid, e) : undefined);
    wrapSubmit<QiDesc>(u, (d, submit) => (d.kind === 'piotlb' ? undefined : submit(d)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(afterUnbind).map((x) => x.message)).toEqual(['dev0 PASID 1: entry still present after the last unbind']);
    // Once the entry is gone, the IOTLB entries the skipped P_IOTLB left behind are named.
    write(1, { ...table.read(1), present: false });
    expect(b.check(afterUnbind).map((x) => x.message)).toEqual([
      expect.stringMatching(/^vtd0 IOTLB\/paging-structure cache keep \d+ entries for PASID 1 with no device bound to it$/),
    ]);
  });

  test('fires when detach skips the ATC invalidation and the CFGI_CD (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'ATC_INV' || c.kind === 'CFGI_CD' ? undefined : submit(c)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    const v = b.check(afterUnbind);
    expect(ids(v)).toEqual(['I8']);
    // The STE downgrade's CFGI_STE drops the cached CD anyway; the ATC keeps its entry.
    expect(v.map((x) => x.message)).toEqual(['dev0 ATC keeps 1 entries for PASID 1 after the last unbind']);
  });

  test('fires when the domain free skips the TLBI by ASID (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'TLBI_NH_ASID' ? undefined : submit(c)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(afterUnbind).map((x) => x.objects['asid'])).toEqual([1, 1]);
  });
});

describe('I8 on AMD', () => {
  test('fires when the GCR3 entry, its cached copy, the IOTLB or a PPR log entry outlive the last unbind', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    const dev = b.world.devices[0]!;
    const g = amdDevData(dev).gcr3_info;
    const u = b.world.iommus[0]!.unit as AmdIommuUnit;
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(afterUnbind)).toEqual([]);
    g.gcr3_tbl!.write(1, { valid: true, cr3: 5 });
    u.gcr3Cache.set(didPasidKey(g.domid, 1), { table: g.gcr3_tbl!, entry: { valid: true, cr3: 5 } });
    u.iotlb.fill(g.domid, 1, userVpn(0), { ok: true, frame: 5, write: false });
    u.pprLog.append({ devid: 0, pasid: 1, gn: true, vpn: userVpn(0), write: false, tag: 3, last: true });
    expect(b.check(afterUnbind).map((x) => x.message)).toEqual([
      'dev0 PASID 1: GCR3 entry still valid after the last unbind',
      'amd0: GCR3 cache still holds dev0 PASID 1',
      'amd0: page requests of dev0 PASID 1 still in the PPR log',
      'amd0 IOTLB/page-directory cache keep 1 entries of dev0 PASID 1',
    ]);
  });
});
