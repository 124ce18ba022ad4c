import { describe, expect, test } from 'vitest';
import { sync } from '../../../src/impl/core/sched.js';
import { exit_mm } from '../../../src/impl/core/exit.js';
import { iommu_sva_bind_device, iommu_sva_unbind_device } from '../../../src/impl/core/iommuSva.js';
import { srcu_grace_period } from '../../../src/impl/core/kernel.js';
import { do_munmap } from '../../../src/impl/core/munmap.js';
import type { IommuSva } from '../../../src/impl/core/types.js';
import { arm_smmu_ops } from '../../../src/impl/smmuv3/smmu.js';
import { to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { userVpn } from '../../../src/shared/index.js';
import { devSpec, kinds, master, smmuSpec, smmuWorld } from './world.js';

const bound = (r: { ok: boolean; value?: IommuSva }): IommuSva => {
  if (!r.ok || r.value === undefined) throw new Error(`bind failed: ${JSON.stringify(r)}`);
  return r.value;
};

describe('SMMUv3 SVA domains', () => {
  test('devices behind two SMMU instances bound to one mm get one domain per instance', () => {
    const w = smmuWorld([smmuSpec(), smmuSpec()], [devSpec(0, 0), devSpec(1, 1)]);
    const mm = w.spawn(0, 1);
    const h0 = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const h1 = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[1]!, mm)));
    expect(h0.domain).not.toBe(h1.domain);
    expect(to_smmu_domain(h0.domain).smmu).toBe(w.smmus[0]);
    expect(to_smmu_domain(h1.domain).smmu).toBe(w.smmus[1]);
    expect(mm.iommu_mm?.sva_domains).toHaveLength(2);
    // ASIDs come from one global xarray: the two domains never share one.
    expect(to_smmu_domain(h0.domain).cd.asid).not.toBe(to_smmu_domain(h1.domain).cd.asid);
    expect(w.devs[1]!.hw.dma(mm.iommu_mm!.pasid, userVpn(0), false).ok).toBe(true);
  });

  test('attaching a domain of another SMMU instance returns -EINVAL and changes nothing', () => {
    const w = smmuWorld([smmuSpec(), smmuSpec()], [devSpec(0, 0), devSpec(1, 1)]);
    const mm = w.spawn(0);
    const h0 = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    w.take(1);
    expect(sync(mm.kernel, h0.domain.ops.set_dev_pasid(h0.domain, w.devs[1]!, mm.iommu_mm!.pasid, undefined))).toBe('EINVAL');
    expect(w.take(1)).toEqual([]);
    expect(to_smmu_domain(h0.domain).devices).toHaveLength(1);
  });

  test('attach writes the CD with CFGI_CD + CMD_SYNC, then switches the STE on the first SSID only', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0, 1);
    bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const pasid = mm.iommu_mm!.pasid;
    const cmds = w.take();
    expect(kinds(cmds)).toEqual([
      'CFGI_CD', 'CMD_SYNC', 'CFGI_CD', 'CMD_SYNC', // hitless CD write: TTB0 first, then qword 0 with V
      'CFGI_STE', 'CMD_SYNC', 'CFGI_STE', 'CMD_SYNC', // bypass → CD-table STE
      'ATC_INV', 'CMD_SYNC', // arm_smmu_enable_ats: the whole ATC, without PASID
    ]);
    expect(cmds[0]).toEqual({ kind: 'CFGI_CD', sid: 0, ssid: pasid, leaf: true });
    expect(cmds[8]).toMatchObject({ kind: 'ATC_INV', ssv: false, size: 52 });
    const m = master(w.devs[0]!);
    const cd = m.cd_table.table!.read(pasid);
    expect(cd).toMatchObject({ v: true, epd0: false, ttb0: mm.pgd.pgd, asid: to_smmu_domain(mm.iommu_mm!.sva_domains[0]!).cd.asid });
    expect(w.smmus[0]!.unit.streamTable.read(0)).toMatchObject({ config: 's1', s1dss: 'bypass', eats: true });
    expect(m.ats_enabled).toBe(true);
    const mm2 = w.spawn(1);
    bound(sync(mm2.kernel, iommu_sva_bind_device(w.devs[0]!, mm2)));
    expect(kinds(w.take())).toEqual(['CFGI_CD', 'CMD_SYNC', 'CFGI_CD', 'CMD_SYNC', 'ATC_INV', 'CMD_SYNC']);
    expect(w.devs[0]!.hw.dma(pasid, userVpn(0), true)).toMatchObject({ ok: true });
  });

  test('release writes the quiet CD (EPD0, V kept), flushes the ASID and the ATC, and DMA faults', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0, 1);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const pasid = mm.iommu_mm!.pasid;
    const asid = to_smmu_domain(h.domain).cd.asid;
    expect(w.devs[0]!.hw.dma(pasid, userVpn(0), false).ok).toBe(true);
    w.take();
    w.kernel.mem.takeAnomalies();
    sync(mm.kernel, exit_mm(mm));
    const cmds = w.take();
    expect(kinds(cmds).slice(0, 4)).toEqual(['CFGI_CD', 'CMD_SYNC', 'CFGI_CD', 'CMD_SYNC']);
    expect(cmds.slice(4, 8)).toEqual([
      { kind: 'TLBI_NH_ASID', asid }, { kind: 'CMD_SYNC' },
      { kind: 'ATC_INV', sid: 0, ssv: true, ssid: pasid, addr: 0, size: 52 }, { kind: 'CMD_SYNC' },
    ]);
    expect(master(w.devs[0]!).cd_table.table!.read(pasid)).toMatchObject({ v: true, epd0: true, r: false, s: false, asid });
    expect(w.devs[0]!.hw.dma(pasid, userVpn(0), false)).toEqual({ ok: false, fault: 'smmu0: fault-disabled' });
    expect(w.kernel.mem.takeAnomalies()).toEqual([]);
    // Unbind after exit still clears everything.
    sync(h.domain.mm!.kernel, iommu_sva_unbind_device(h));
    expect(master(w.devs[0]!).cd_table.table!.read(pasid).v).toBe(false);
    expect(w.smmus[0]!.unit.streamTable.read(0).config).toBe('bypass');
  });

  test('an invalidation emits TLBI, then ATC_INV for every ATS master, then one SYNC', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0), devSpec(0, 1, { ats: false }), devSpec(0, 2)]);
    const mm = w.spawn(0, 2);
    const hs = w.devs.map((d) => bound(sync(mm.kernel, iommu_sva_bind_device(d, mm))));
    const sd = to_smmu_domain(hs[0]!.domain);
    expect(hs.every((h) => h.domain === hs[0]!.domain)).toBe(true);
    expect(sd.nr_ats_masters).toBe(2);
    const pasid = mm.iommu_mm!.pasid;
    w.take();
    sync(mm.kernel, do_munmap(mm, 1, 1));
    const cmds = w.take();
    expect(kinds(cmds)).toEqual(['TLBI_NH_VA', 'CMD_SYNC', 'ATC_INV', 'ATC_INV', 'CMD_SYNC']);
    // RANGE_INV, leaf = false: a lone page is widened to 2 so NUM and SCALE are not both 0.
    expect(cmds[0]).toEqual({ kind: 'TLBI_NH_VA', asid: sd.cd.asid, addr: userVpn(1), leaf: false, num: 0, scale: 1, tg: 1, ttl: 0 });
    expect(cmds[2]).toEqual({ kind: 'ATC_INV', sid: 2, ssv: true, ssid: pasid, addr: userVpn(1), size: 0 });
    expect(cmds[3]).toMatchObject({ kind: 'ATC_INV', sid: 0 });
    sync(hs[2]!.domain.mm!.kernel, iommu_sva_unbind_device(hs[2]!));
    expect(sd.nr_ats_masters).toBe(1);
    sync(hs[1]!.domain.mm!.kernel, iommu_sva_unbind_device(hs[1]!));
    expect(sd.nr_ats_masters).toBe(1);
    sync(hs[0]!.domain.mm!.kernel, iommu_sva_unbind_device(hs[0]!));
    expect(sd.nr_ats_masters).toBe(0);
  });

  test('detach clears the CD, flushes that SSID from the ATC, and downgrades the STE once no SSID remains', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const [mm1, mm2] = [w.spawn(0, 1), w.spawn(1, 1)];
    const h1 = bound(sync(mm1.kernel, iommu_sva_bind_device(w.devs[0]!, mm1)));
    const h2 = bound(sync(mm2.kernel, iommu_sva_bind_device(w.devs[0]!, mm2)));
    const [p1, p2] = [mm1.iommu_mm!.pasid, mm2.iommu_mm!.pasid];
    w.take();
    sync(h1.domain.mm!.kernel, iommu_sva_unbind_device(h1));
    const first = w.take();
    expect(kinds(first).slice(0, 6)).toEqual(['CFGI_CD', 'CMD_SYNC', 'CFGI_CD', 'CMD_SYNC', 'ATC_INV', 'CMD_SYNC']);
    expect(first[4]).toEqual({ kind: 'ATC_INV', sid: 0, ssv: true, ssid: p1, addr: 0, size: 52 });
    expect(kinds(first)).not.toContain('CFGI_STE');
    expect(w.smmus[0]!.unit.streamTable.read(0).config).toBe('s1');
    expect(w.devs[0]!.hw.dma(p1, userVpn(0), false).ok).toBe(false);
    expect(w.devs[0]!.hw.dma(p2, userVpn(0), false).ok).toBe(true);
    sync(h2.domain.mm!.kernel, iommu_sva_unbind_device(h2));
    const second = kinds(w.take());
    expect(second.slice(0, 6)).toEqual(['CFGI_CD', 'CMD_SYNC', 'CFGI_CD', 'CMD_SYNC', 'ATC_INV', 'CMD_SYNC']);
    expect(second.slice(6, 12)).toEqual(['CFGI_STE', 'CMD_SYNC', 'CFGI_STE', 'CMD_SYNC', 'ATC_INV', 'CMD_SYNC']);
    expect(w.smmus[0]!.unit.streamTable.read(0).config).toBe('bypass');
    const m = master(w.devs[0]!);
    expect([m.cd_table.used_ssids, m.cd_table.in_ste, m.ats_enabled]).toEqual([0, false, false]);
    expect(w.devs[0]!.hw.atcEntries()).toEqual([]);
  });

  test('free sends TLBI by ASID, releases the ASID and frees the domain after a grace period', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const sd = to_smmu_domain(h.domain);
    const asid = sd.cd.asid;
    expect(w.smmus[0]!.asid_xa.indices()).toEqual([asid]);
    w.take();
    sync(h.domain.mm!.kernel, iommu_sva_unbind_device(h));
    const cmds = w.take();
    expect(cmds.slice(-2)).toEqual([{ kind: 'TLBI_NH_ASID', asid }, { kind: 'CMD_SYNC' }]);
    expect(w.smmus[0]!.asid_xa.indices()).toEqual([]);
    expect(sd.mmu_notifier!.hooked).toBe(false);
    expect(sd.freed).toBe(false);
    sync(w.kernel, srcu_grace_period(w.kernel));
    expect(sd.freed).toBe(true);
    expect(sd.mmu_notifier!.freed).toBe(true);
  });

  test('with one ASID left, a second mm cannot get a domain: -EBUSY, and nothing changes', () => {
    const w = smmuWorld([smmuSpec({ asidBits: 1 })], [devSpec(0, 0)]);
    const [mm0, mm1] = [w.spawn(0), w.spawn(1)];
    const h0 = bound(sync(mm0.kernel, iommu_sva_bind_device(w.devs[0]!, mm0)));
    expect(to_smmu_domain(h0.domain).cd.asid).toBe(1);
    w.take();
    expect(sync(mm1.kernel, iommu_sva_bind_device(w.devs[0]!, mm1))).toEqual({ ok: false, errno: 'EBUSY' });
    expect(w.take()).toEqual([]);
    expect(mm1.notifiers).toEqual([]);
    expect(w.devs[0]!.group.pasid_array.size).toBe(1);
    sync(h0.domain.mm!.kernel, iommu_sva_unbind_device(h0));
    expect(bound(sync(mm1.kernel, iommu_sva_bind_device(w.devs[0]!, mm1))).domain.owner).toBe(arm_smmu_ops);
  });
});
