import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { noStaleTranslation } from '../../../properties/hardware/noStaleTranslation.js';
import type { SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { Gcr3Table, type AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { didPasidKey } from '../../../src/hw/vtd/iotlb.js';
import { dev_iommu_priv_get as amdDevData } from '../../../src/impl/amd/structs.js';
import { NESTED_HWPT, userVpn } from '../../../src/shared/index.js';
import { to_dmar_domain } from '../../../src/impl/vtd/dmar.js';
import type { Bench } from './helpers.js';
import { bench, holdsOnRandomWalks, ids, muteNotifier, pasidOf, setup } from './helpers.js';

const dma = (dev: number, mm: number, page: number, write = false) => ({ kind: 'dma', dev, mm, page, write }) as const;

describe('I6 no stale translation', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(noStaleTranslation, platform);
  });

  test.each(PLATFORMS)('holds after munmap of pages a device had cached on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0), dma(0, 0, 1, true), { kind: 'munmap', mm: 0, first: 0, count: 2 });
    expect(b.check(noStaleTranslation)).toEqual([]);
  });

  test.each(PLATFORMS)('fires when the notifier invalidation is skipped on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    muteNotifier(b, 0, 'arch_invalidate_secondary_tlbs');
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const v = b.check(noStaleTranslation);
    expect(ids(v)).toEqual(['I6']);
    expect(v.some((x) => x.message.includes('ATC'))).toBe(true);
    expect(v.some((x) => /IOTLB|TLB entry/.test(x.message))).toBe(true);
  });

  test('fires on a planted IOTLB entry wider than the PTE and on a free PASID tag (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    const u = b.world.iommus[0]!.unit as VtdUnit;
    const pte = b.world.mms[0]!.pgd.translate(userVpn(0))!;
    u.iotlb.fill(1, pasidOf(b, 0), userVpn(0), { ok: true, frame: pte.frame, write: true });
    u.iotlb.fill(1, 9, userVpn(0), { ok: true, frame: pte.frame, write: false });
    const v = b.check(noStaleTranslation);
    expect(v.map((x) => x.objects['pasid'])).toEqual([pasidOf(b, 0), 9]);
  });

  test('fires on a stale paging-structure cache pointer and a stale PASID cache entry (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    const u = b.world.iommus[0]!.unit as VtdUnit;
    u.psc.fill(1, pasidOf(b, 0), userVpn(0), 1, 7 * 4 + 3);
    u.pasidCache.fill(0, 9, { present: true, fpd: false, pgtt: 'FL', flptr: 1, slptr: 0, did: 1, levels: 4 });
    const v = b.check(noStaleTranslation);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringContaining('paging-structure cache'),
      expect.stringContaining('PASID cache (sid 0, PASID 9)'),
    ]);
  });

  test('fires on a TLB entry of a freed ASID, a stale walk-cache pointer and a stale CD cache entry (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    const u = b.world.iommus[0]!.unit as SmmuV3;
    const pte = b.world.mms[0]!.pgd.translate(userVpn(0))!;
    u.tlb.fill(7, userVpn(0), { ok: true, frame: pte.frame, write: true });
    u.walkCache.fill(1, 1, Math.floor(userVpn(0) / 512), 3);
    const cd = u.config.cd(0, pasidOf(b, 0)) ?? u.streamTable.fetch(0).cdTable!.fetch(pasidOf(b, 0))!;
    u.config.fillCd(0, pasidOf(b, 0), { ...cd, ttb0: cd.ttb0 + 1 });
    const v = b.check(noStaleTranslation);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringContaining('ASID 7, which is free'),
      expect.stringContaining('walk cache ASID 1'),
      expect.stringContaining('CD cache (SID 0'),
    ]);
  });
});

describe('I6 on AMD', () => {
  const unitOf = (b: ReturnType<typeof bench>): AmdIommuUnit => b.world.iommus[0]!.unit as AmdIommuUnit;
  const domid = (b: ReturnType<typeof bench>, dev: number): number => amdDevData(b.world.devices[dev]!).gcr3_info.domid;

  test('fires on a planted IOTLB entry wider than the PTE and on one tagged with a free PASID', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    b.run({ kind: 'mprotect', mm: 0, page: 0, prot: 'r' });
    const pte = b.world.mms[0]!.pgd.translate(userVpn(0))!;
    unitOf(b).iotlb.fill(domid(b, 0), pasidOf(b, 0), userVpn(0), { ok: true, frame: pte.frame, write: true });
    unitOf(b).iotlb.fill(domid(b, 0), 9, userVpn(0), { ok: true, frame: pte.frame, write: false });
    const v = b.check(noStaleTranslation);
    expect(v.map((x) => x.objects['pasid'])).toEqual([pasidOf(b, 0), 9]);
    expect(v[0]!.message).toContain(`IOTLB entry DomainID ${domid(b, 0)}`);
  });

  test('fires on a stale page-directory pointer, a stale GCR3 cache entry, one of a freed table, and a stale DTE cache entry', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    const u = unitOf(b);
    const pasid = pasidOf(b, 0);
    u.psc.fill(domid(b, 0), pasid, userVpn(0), 1, 7 * 4 + 3);
    const table = amdDevData(b.world.devices[0]!).gcr3_info.gcr3_tbl!;
    u.gcr3Cache.set(didPasidKey(domid(b, 0), pasid), { table, entry: { valid: true, cr3: 4242 } });
    const freed = new Gcr3Table('amd0', 0);
    freed.freed = true;
    u.gcr3Cache.set(didPasidKey(domid(b, 1), pasid), { table: freed, entry: { valid: true, cr3: 1 } });
    u.dteCache.set(0, { ...u.devTable.get(0) });
    const v = b.check(noStaleTranslation);
    expect(ids(v)).toEqual(['I6']);
    expect(v.map((x) => x.message)).toEqual([
      expect.stringContaining('page-directory cache'),
      expect.stringMatching(/GCR3 cache \(DomainID \d+, PASID \d+\) holds CR3 4242/),
      expect.stringContaining('holds an entry of a freed GCR3 table'),
      expect.stringContaining('DTE cache for DevID 0 differs'),
    ]);
  });

  describe('nested entries (VT-d): the guest\'s stage-1 table composed with the parent\'s', () => {
    /** HWPT 2 at PASID 5 of dev0, the guest mapping IOVA page 1 to GPA page 2 (the parent's page 2), cached by a DMA. */
    const nested = (): Bench => {
      const b = bench('vtd');
      b.run(
        { kind: 'attachPasid', dev: 0, hwpt: NESTED_HWPT, pasid: 5 }, { kind: 'iommuMap', hwpt: 0, page: 2, write: true },
        { kind: 'guestMap', page: 1, gpa: 2, write: true }, { kind: 'dmaIova', dev: 0, hwpt: NESTED_HWPT, page: 1, write: true },
      );
      expect((b.world.iommus[0]!.unit as VtdUnit).iotlb.nestedEntries()).toHaveLength(1);
      return b;
    };

    test('holds after the guest\'s unmap and after the host\'s unmap from the parent', () => {
      const b = nested();
      b.run({ kind: 'guestUnmap', page: 1 });
      expect(b.check(noStaleTranslation)).toEqual([]);
      const c = nested();
      c.run({ kind: 'iommuUnmap', hwpt: 0, page: 2 });
      expect(c.check(noStaleTranslation)).toEqual([]);
    });

    test('fires when the guest\'s invalidation request is dropped (IOMMU_HWPT_INVALIDATE does nothing)', () => {
      const b = nested();
      const domain = b.world.hwpts[NESTED_HWPT]!.domain! as { ops: object };
      domain.ops = { ...domain.ops, cache_invalidate_user: function* () { return 0 as const; } };
      b.run({ kind: 'guestUnmap', page: 1 });
      const v = b.check(noStaleTranslation);
      expect(ids(v)).toEqual(['I6']);
      expect(v.some((x) => x.message.includes('IOTLB nested entry'))).toBe(true);
      expect(v.some((x) => x.message.includes('ATC'))).toBe(true);
    });

    test('fires when the parent\'s flush does not reach its nested users (no NESTING tags)', () => {
      const b = nested();
      const parent = to_dmar_domain(b.world.hwpts[0]!.domain!);
      parent.cache_tags.splice(0, parent.cache_tags.length);
      b.run({ kind: 'iommuUnmap', hwpt: 0, page: 2 });
      const v = b.check(noStaleTranslation);
      expect(ids(v)).toEqual(['I6']);
      expect(v.some((x) => x.message.includes('IOTLB nested entry'))).toBe(true);
    });

    test('fires on a planted nested entry whose DID no nested domain holds', () => {
      const b = nested();
      (b.world.iommus[0]!.unit as VtdUnit).iotlb.nestedFill(77, 5, userVpn(0), { ok: true, frame: 1, write: false });
      expect(b.check(noStaleTranslation).map((x) => x.objects['did'])).toEqual([77]);
    });
  });
});
