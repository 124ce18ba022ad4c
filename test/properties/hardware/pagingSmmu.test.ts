import { describe, expect, test } from 'vitest';
import { invalidationCost } from '../../../properties/hardware/invalidationCost.js';
import { noStaleTranslation } from '../../../properties/hardware/noStaleTranslation.js';
import { ordering } from '../../../properties/hardware/ordering.js';
import { quiescence } from '../../../properties/lifecycle/quiescence.js';
import { consistency } from '../../../properties/lifecycle/consistency.js';
import { ATC_INV_SIZE_ALL, type SmmuCmd, type SmmuV3 } from '../../../src/hw/smmuv3/index.js';
import { iovaVpn } from '../../../src/shared/index.js';
import { dev_iommu_priv_get, to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { bench, ids, wrapSubmit, type Bench } from './helpers.js';

// smallTopology: dev0, dev1 with ATS and dev2 without, behind smmu0; dev3 with ATS behind smmu1.
const mapped = (devs: number[]): Bench => {
  const b = bench('smmuv3');
  devs.forEach((dev, i) => b.run({ kind: 'attachPasid', dev, hwpt: 1, pasid: 3 + i }));
  b.run({ kind: 'iommuMap', hwpt: 1, page: 0, write: true });
  for (const dev of devs) b.run({ kind: 'dmaIova', dev, hwpt: 1, page: 0, write: true });
  return b;
};
const unitOf = (b: Bench): SmmuV3 => b.world.iommus[0]!.unit as SmmuV3;
const unmap = (b: Bench) => b.run({ kind: 'iommuUnmap', hwpt: 1, page: 0 });
const unmap0 = (b: Bench) => b.run({ kind: 'iommuUnmap', hwpt: 0, page: 0 });

describe('SMMUv3 iommufd unmap: I7 order and I12 cost (pagingSmmu.ts)', () => {
  test('hold on an unmap seen by an ATS master and a master without ATS', () => {
    const b = mapped([0, 2]);
    unmap(b);
    expect(b.check(ordering)).toEqual([]);
    expect(b.check(invalidationCost)).toEqual([]);
    expect(b.check(noStaleTranslation)).toEqual([]);
  });

  test('I7 fires when the ATC_INV is sent before the TLBI has completed', () => {
    const b = mapped([0]);
    // The TLBI is held back until the ATC batch has been synced: the order R02 had.
    let held: SmmuCmd | undefined;
    let atc = false;
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => {
      if (c.kind === 'TLBI_NH_VA') return void (held = c);
      submit(c);
      if (c.kind === 'ATC_INV') atc = true;
      if (c.kind === 'CMD_SYNC' && atc && held !== undefined) {
        const h = held;
        held = undefined;
        submit(h);
        submit({ kind: 'CMD_SYNC' });
      }
    });
    unmap(b);
    expect(b.check(ordering).map((v) => v.message)).toContainEqual(expect.stringContaining('before the TLBI of ASID'));
  });

  test('I7 and I6 fire when the ATC of an ATS master is not invalidated at all', () => {
    const b = mapped([0]);
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => (c.kind === 'ATC_INV' ? undefined : submit(c)));
    unmap(b);
    expect(b.check(ordering).map((v) => v.message)).toEqual([expect.stringContaining('uninvalidated')]);
    expect(ids(b.check(noStaleTranslation))).toContain('I6');
  });

  test('I12 fires on an ATC_INV sent to the master whose ATS is off, and on an ASID-wide flush', () => {
    const b = mapped([0, 2]);
    expect(dev_iommu_priv_get(b.world.devices[2]!).ats_enabled).toBe(false);
    const sid2 = b.world.devices[2]!.hw.sid;
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => {
      submit(c.kind === 'TLBI_NH_VA' ? { kind: 'TLBI_NH_ASID', asid: c.asid } : c);
      if (c.kind === 'ATC_INV') submit({ ...c, sid: sid2, ssid: 4 });
    });
    unmap(b);
    const msgs = b.check(invalidationCost).map((v) => v.message);
    expect(msgs).toEqual([expect.stringMatching(/1 TLBI_NH_ASID.*ATS off or not attached: sid \d+ SSID 4/)]);
  });
});

describe('SMMUv3 iommufd unmap: I12 breadth', () => {
  test('fires when the ATC of the ATS master is flushed whole for a one-page unmap', () => {
    const b = mapped([0]);
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => submit(c.kind === 'ATC_INV' ? { ...c, addr: 0, size: ATC_INV_SIZE_ALL } : c));
    unmap(b);
    expect(b.check(invalidationCost).map((v) => v.message)).toEqual([expect.stringContaining('broader than the page: ATC_INV sid')]);
    expect(b.check(ordering)).toEqual([]);
  });

  test('fires when the TLBI range spans two pages', () => {
    const b = mapped([0]);
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => submit(c.kind === 'TLBI_NH_VA' ? { ...c, tg: 1, num: 1, scale: 0, ttl: 0 } : c));
    unmap(b);
    expect(b.check(invalidationCost).map((v) => v.message)).toEqual([expect.stringContaining('TLBI_NH_VA of 2 pages')]);
  });
});

describe('SMMUv3 iommufd PASID detach: I7', () => {
  test('holds: CD cleared with CFGI_CD + sync, then the SSID\'s ATC invalidated', () => {
    const b = mapped([0]);
    b.run({ kind: 'detachPasid', dev: 0, hwpt: 1 });
    expect(b.check(ordering)).toEqual([]);
  });

  test('fires when the CD is cleared without CFGI_CD', () => {
    const b = mapped([0]);
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => (c.kind === 'CFGI_CD' ? undefined : submit(c)));
    b.run({ kind: 'detachPasid', dev: 0, hwpt: 1 });
    expect(b.check(ordering).map((v) => v.message)).toContainEqual(expect.stringContaining('PASID detach of HWPT 1 without a CFGI_CD'));
  });

  test('fires when the ATC is invalidated before the CD is cleared', () => {
    const b = mapped([0]);
    const held: SmmuCmd[] = [];
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => {
      if (c.kind === 'CFGI_CD' && held.length === 0) return void held.push(c);
      if (c.kind === 'ATC_INV' && held.length > 0) {
        submit(c);
        submit({ kind: 'CMD_SYNC' });
        for (const h of held.splice(0)) submit(h);
        return;
      }
      submit(c);
    });
    b.run({ kind: 'detachPasid', dev: 0, hwpt: 1 });
    expect(b.check(ordering).map((v) => v.message)).toContainEqual(expect.stringContaining('before the CD was cleared and synced'));
  });
});

describe('SMMUv3 nest-parent unmap (stage 2)', () => {
  const nestParent = (): Bench => {
    const b = bench('smmuv3');
    b.run({ kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 3 }, { kind: 'iommuMap', hwpt: 0, page: 0, write: true });
    return b;
  };

  test('I7 and I12 hold on TLBI_S2_IPA + sync, TLBI_NH_ALL + sync', () => {
    const b = nestParent();
    unmap0(b);
    expect(b.check(ordering)).toEqual([]);
    expect(b.check(invalidationCost)).toEqual([]);
  });

  test('I7 and I12 fire when the nested stage-1 entries are not flushed (no TLBI_NH_ALL)', () => {
    const b = nestParent();
    wrapSubmit<SmmuCmd>(unitOf(b), (c, submit) => (c.kind === 'TLBI_NH_ALL' ? undefined : submit(c)));
    unmap0(b);
    expect(b.check(ordering).map((v) => v.message)).toEqual([expect.stringContaining('without a completed TLBI_NH_ALL of VMID 1')]);
    expect(b.check(invalidationCost).map((v) => v.message)).toEqual([expect.stringContaining('0 TLBI_NH_ALL')]);
  });
});

describe('SMMUv3 paging domains in I6, I5 and I11', () => {
  test('I6 fires on a TLB entry of the paging domain ASID that disagrees with its io-pgtable', () => {
    const b = mapped([0]);
    expect(b.check(noStaleTranslation)).toEqual([]);
    const asid = to_smmu_domain(b.world.hwpts[1]!.domain!).cd.asid;
    unitOf(b).tlb.fill(asid, iovaVpn(1), { ok: true, frame: 3, write: true });
    expect(b.check(noStaleTranslation).map((v) => v.message)).toEqual([expect.stringContaining("disagrees with the paging domain's table")]);
  });

  test("I5 fires when the paging PASID's CD points at another table", () => {
    const b = mapped([0]);
    expect(b.check(consistency)).toEqual([]);
    const t = dev_iommu_priv_get(b.world.devices[0]!).cd_table.table!;
    t.write(3, { ...t.read(3), ttb0: t.read(3).ttb0 + 1 });
    expect(ids(b.check(consistency))).toContain('I5');
  });

  test("I11 holds with a HWPT attached (its ASID and CD are the HWPT's) and fires on a leaked ASID", () => {
    const b = mapped([0]);
    expect(b.check(quiescence)).toEqual([]);
    const d = to_smmu_domain(b.world.hwpts[1]!.domain!);
    // A domain no HWPT holds (as a leaked SVA domain would be).
    d.smmu.asid_xa.xa_alloc({ domain: { type: 'SVA', freed: false } } as never, 9, 9);
    expect(b.check(quiescence).map((v) => v.message)).toEqual([expect.stringContaining('ASID 9 still allocated')]);
  });
});
