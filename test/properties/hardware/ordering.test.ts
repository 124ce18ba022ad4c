import type { AmdCmd, AmdIommuUnit } from '../../../src/hw/amd/index.js';
import { PLATFORMS } from '../../../src/shared/index.js';
import { describe, expect, test } from 'vitest';
import { ordering } from '../../../properties/hardware/ordering.js';
import type { SmmuCmd, SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import type { QiDesc } from '../../../src/hw/vtd/descriptor.js';
import type { PasidEntry } from '../../../src/hw/vtd/pasidTable.js';
import type { VtdUnit } from '../../../src/hw/vtd/unit.js';
import { type Bench, bench, holdsOnRandomWalks, ids, setup, wrapSubmit } from './helpers.js';

const dma = (dev: number, mm: number, page: number) => ({ kind: 'dma', dev, mm, page, write: false }) as const;

describe('I7 ordering', () => {
  test.each(PLATFORMS)('holds on random legal sequences on %s', (platform) => {
    holdsOnRandomWalks(ordering, platform);
  });

  test.each(PLATFORMS)('holds on unbind, exit and munmap with two devices bound on %s', (platform) => {
    const b = bench(platform);
    setup(b, 0, [0, 1]);
    b.run(dma(0, 0, 0), { kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(ordering)).toEqual([]);
    b.run({ kind: 'unbind', dev: 1, mm: 0 });
    expect(b.check(ordering)).toEqual([]);
    b.run({ kind: 'exit', mm: 0 });
    expect(b.check(ordering)).toEqual([]);
  });

  test('fires when a flush sends the device-TLB invalidation before the P_IOTLB (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    let held: QiDesc | undefined;
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      if (d.kind === 'piotlb' && d.granularity === 'page') return void (held = d);
      submit(d);
      if (d.kind === 'devtlb' && held !== undefined) submit(held);
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(ids(b.check(ordering))).toEqual(['I7']);
    expect(b.check(ordering)[0]!.message).toContain('without an IOTLB invalidation');
  });

  test('fires when the P_IOTLB invalidation does not cover the device-TLB range (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    // The IOTLB flush names the pages after the range; the device-TLB flush the range itself.
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) =>
      submit(d.kind === 'piotlb' && d.granularity === 'page' ? { ...d, addr: d.addr + 2 ** d.am } : d));
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(ids(b.check(ordering))).toEqual(['I7']);
    expect(b.check(ordering)[0]!.message).toContain('without an IOTLB invalidation');
  });

  /** An unbind with another CPU's batch (`batch(the teardown's P_IOTLB)`) queued right after the teardown's P_IOTLB. */
  const teardownWithBatchBetween = (batch: (piotlb: QiDesc & { kind: 'piotlb' }) => QiDesc[]): Bench => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    let once = false;
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      submit(d);
      if (once || d.kind !== 'piotlb' || d.granularity !== 'pasid') return;
      once = true;
      for (const x of batch(d)) submit(x);
    });
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(once).toBe(true);
    return b;
  };

  test("holds when another CPU's flush batch lands between a teardown's P_IOTLB and its device-TLB flush (VT-d)", () => {
    // What a concurrent munmap's cache_tag_flush_range queues under qi->q_lock: one page's
    // P_IOTLB and device-TLB invalidations, between the unbind's two batches.
    const b = teardownWithBatchBetween((d) => [
      { kind: 'piotlb', granularity: 'page', did: d.did, pasid: d.pasid, addr: 0x40000, am: 0, ih: false },
      { kind: 'devtlb', sid: 0, pasid: d.pasid, global: false, addr: 0x40000, sizeOrder: 0 },
    ]);
    expect(b.check(ordering)).toEqual([]);
  });

  test("holds when another CPU's whole-range flush lands between a teardown's two batches, the entry already cleared (VT-d)", () => {
    // A fork's write-protect flush (0, ULONG_MAX) between the unbind's P_IOTLB and its device-TLB
    // batch covers the teardown's own device-TLB flush; P was clear at both, so nothing refilled
    // the IOTLB. regressions/vtd-group-unbind-fork-attach-devtlb.json has it in a group, where a
    // concurrent attach makes the PASID present again by the end of the step.
    const b = teardownWithBatchBetween((d) => [{ ...d }, { kind: 'devtlb', sid: 0, pasid: d.pasid, global: false, addr: 0, sizeOrder: 52 }]);
    expect(b.check(ordering)).toEqual([]);
  });

  test("holds for a redundant device-TLB flush after the PASID's teardown (cache_tag_unassign_domain's window) (VT-d)", () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      submit(d);
      if (d.kind === 'devtlb' && d.sizeOrder >= 52) submit({ ...d, addr: 0x40000, sizeOrder: 0 });
    });
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(ordering)).toEqual([]);
  });

  test('fires for a second device-TLB flush of a live PASID without its own IOTLB flush (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => {
      submit(d);
      if (d.kind === 'devtlb') submit(d);
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(ids(b.check(ordering))).toEqual(['I7']);
  });

  test('fires when software rewrites a present PASID entry in place (VT-d spec 6.5.3.3), not for clearing P alone', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    const table = (b.world.iommus[0]!.unit as VtdUnit).pasidTable(0)!;
    b.probe.begin();
    const live = table.read(1);
    // A different first-level pointer written over the live entry: a torn read can mix them.
    table.write(1, { ...live, flptr: live.flptr + 1 });
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringContaining('dev0 PASID 1: present entry rewritten in place')]);
    b.probe.begin();
    table.write(1, { ...table.read(1), present: false });
    expect(b.check(ordering)).toEqual([]);
  });

  test('fires when teardown skips the PASID-cache invalidation (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    wrapSubmit<QiDesc>(b.world.iommus[0]!.unit as VtdUnit, (d, submit) => (d.kind === 'pc' ? undefined : submit(d)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringContaining('teardown without a PASID-cache invalidation')]);
  });

  test('fires when teardown invalidates the PASID cache before clearing the entry (VT-d)', () => {
    const b = bench('vtd');
    setup(b, 0, [0]);
    const u = b.world.iommus[0]!.unit as VtdUnit;
    const table = u.pasidTable(0)!;
    const write = table.write.bind(table);
    let deferred: (() => void) | undefined;
    // The entry write lands only after the PASID-cache flush has completed.
    table.write = (pasid: number, e: PasidEntry): void => {
      if (e.present) write(pasid, e);
      else deferred = () => write(pasid, e);
    };
    wrapSubmit<QiDesc>(u, (d, submit) => {
      submit(d);
      if (d.kind === 'wait' && deferred !== undefined) {
        deferred();
        deferred = undefined;
      }
    });
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringContaining('while the entry was still present')]);
  });

  test('fires when the ATC is invalidated before the TLBI has completed (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'TLBI_NH_VA' ? undefined : submit(c)));
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringContaining('before a TLBI of its ASID had completed')]);
  });

  test('fires when detach clears the CD without CFGI_CD (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'CFGI_CD' ? undefined : submit(c)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    const msgs = b.check(ordering).map((x) => x.message);
    expect(msgs).toContain('dev0 SSID 1: CD cleared without CFGI_CD + CMD_SYNC');
  });

  test('a RID detach: the STE first, then the ATC, then CD 0; fires when the ATC goes before the STE or CD 0 stays (SMMUv3)', () => {
    const ridDetach = (tamper: (c: SmmuCmd, submit: (c: SmmuCmd) => unknown) => unknown): string[] => {
      const b = bench('smmuv3');
      b.run({ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 0 });
      wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, tamper);
      b.run({ kind: 'detachPasid', dev: 0, hwpt: 1 });
      return b.check(ordering).map((x) => x.message);
    };
    expect(ridDetach((c, submit) => submit(c))).toEqual([]);
    // The CFGI_STE dropped: the STE's stop is never synced before the ATC_INV.
    expect(ridDetach((c, submit) => (c.kind === 'CFGI_STE' ? undefined : submit(c)))).toContain('dev0: RID detach without CFGI_STE + CMD_SYNC');
  });

  test('fires when detach sends no ATC_INV for the SSID (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    b.run(dma(0, 0, 0));
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'ATC_INV' ? undefined : submit(c)));
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(ordering).map((x) => x.message)).toContain('dev0 SSID 1: no ATC invalidation on detach');
  });

  test('with ATS off at the endpoint, detach needs no ATC_INV unless the SSID is still cached (SMMUv3)', () => {
    const detachWithAtsOff = (cached: boolean): string[] => {
      const b = bench('smmuv3');
      setup(b, 0, [0]);
      if (cached) b.run(dma(0, 0, 0));
      const dev = b.world.devices[0]!.hw;
      dev.atsEnabled = false;
      expect(dev.atcEntries().length > 0).toBe(cached);
      wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'ATC_INV' ? undefined : submit(c)));
      b.run({ kind: 'unbind', dev: 0, mm: 0 });
      return b.check(ordering).map((x) => x.message);
    };
    expect(detachWithAtsOff(false)).not.toContain('dev0 SSID 1: no ATC invalidation on detach');
    // An entry left in a disabled ATC is used again once Enable is set: it must still go.
    expect(detachWithAtsOff(true)).toContain('dev0 SSID 1: no ATC invalidation on detach');
  });

  test('fires when release flushes the ASID before making the CD quiet (SMMUv3)', () => {
    const b = bench('smmuv3');
    setup(b, 0, [0]);
    const held: SmmuCmd[] = [];
    let flushed = false;
    // The quiet CD's CFGI_CD goes out only after the TLBI by ASID and its sync.
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => {
      if (c.kind === 'CFGI_CD') return void held.push(c);
      submit(c);
      if (c.kind === 'TLBI_NH_ASID') flushed = true;
      if (c.kind === 'CMD_SYNC' && flushed && held.length > 0) {
        for (const h of held.splice(0)) submit(h);
        submit({ kind: 'CMD_SYNC' });
      }
    });
    b.run({ kind: 'exit', mm: 0 });
    expect(b.check(ordering).map((x) => x.message)).toContain('smmu0: release flushed ASID 1 before making the CD of sid 0 SSID 1 quiet');
  });

  test('fires when a bind returns with a descriptor queued and no wait (VT-d)', () => {
    const b = bench('vtd');
    b.run({ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 });
    (b.world.iommus[0]!.unit as VtdUnit).submit({ kind: 'pc', granularity: 'pasid', did: 1, pasid: 1 });
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringContaining('bind returned with 1 descriptors queued')]);
  });

  test('fires when a bind returns with CD writes not synced (SMMUv3)', () => {
    const b = bench('smmuv3');
    b.run({ kind: 'spawn', mm: 0 });
    wrapSubmit<SmmuCmd>(b.world.iommus[0]!.unit as SmmuV3, (c, submit) => (c.kind === 'CMD_SYNC' ? undefined : submit(c)));
    b.run({ kind: 'bind', dev: 0, mm: 0 });
    const v = b.check(ordering);
    expect(ids(v)).toEqual(['I7']);
    expect(v.map((x) => x.message)).toContain('smmu0: bind returned with 5 commands queued without a CMD_SYNC');
  });
});

describe('I7 on AMD', () => {
  test('fires when an INVALIDATE_IOTLB_PAGES is not preceded by the IOMMU flush of its PASID', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    wrapSubmit<AmdCmd>(b.world.iommus[0]!.unit as AmdIommuUnit, (c, submit) => {
      if (c.kind !== 'INVALIDATE_IOMMU_PAGES') submit(c);
    });
    b.run({ kind: 'munmap', mm: 0, first: 0, count: 1 });
    const v = b.check(ordering);
    expect(ids(v)).toEqual(['I7']);
    expect(v[0]!.message).toMatch(/INVALIDATE_IOTLB_PAGES of DevID 0 PASID 1 \(command 0\) without an INVALIDATE_IOMMU_PAGES/);
  });

  test('holds on the teardown of the last unbind, and fires when the PASID flush came before the GCR3 clear', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    b.run({ kind: 'unbind', dev: 0, mm: 0 });
    expect(b.check(ordering)).toEqual([]);
    // Crafted: the probe saw the entry still valid when the all-pages flush was submitted.
    const log = b.probe.units[0]!;
    for (let k = 0; k < log.n; k++) if (log.events[k]!.kind === 'INVALIDATE_IOMMU_PAGES') log.aux[k] = 1;
    expect(b.check(ordering).map((x) => x.message)).toEqual([expect.stringMatching(/PASID flushed \(command \d+\) while its GCR3 entry was still valid/)]);
  });

  test('fires when a bind returns with a command still in the buffer', () => {
    const b = bench('amd');
    setup(b, 0, [0]);
    (b.world.iommus[0]!.unit as AmdIommuUnit).submit({ kind: 'INVALIDATE_DEVTAB_ENTRY', devid: 1 });
    expect(b.check(ordering).map((x) => x.message)).toEqual(['amd0: bind returned with 1 commands without a completed COMPLETION_WAIT']);
  });
});
