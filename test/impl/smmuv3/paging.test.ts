import { describe, expect, test } from 'vitest';
import { checkedStep, openSession } from '../../../src/harness/index.js';
import { defaultTopology, iovaToken, iovaVpn, type Command } from '../../../src/shared/index.js';
import { dev_iommu_priv_get, to_smmu_domain, type ArmSmmuDevice } from '../../../src/impl/smmuv3/structs.js';
import { sync } from '../../../src/impl/core/sched.js';

// dev0: ATS behind smmu0; dev1: no ATS behind smmu0; dev2: ATS behind smmu1 (asidBits 4 on both).
const t = defaultTopology('smmuv3');

const run = (cmds: readonly Command[], topology = t) => {
  const s = openSession(topology);
  const obs = cmds.map((c) => {
    expect(checkedStep(s, c)).toEqual([]);
    return s.steps[s.steps.length - 1]?.actual;
  });
  return { s, obs };
};

/** The step's commands on unit u, as kinds (the probe's log of the last step). */
const cmdsOf = (s: ReturnType<typeof openSession>, u: number): string[] => {
  const log = s.probe.units[u]!;
  return log.events.slice(0, log.n).map((e) => e.kind);
};

describe('SMMUv3 paging domains at a PASID (arm_smmu_domain_alloc_paging_flags, arm_smmu_s1_set_dev_pasid)', () => {
  test('HWPT 1 is a stage-1 domain with an ASID; its CD walks the io-pgtable and DMA reads the buffer', () => {
    const { s, obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 2, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 2, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 2, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 1, write: false },
    ]);
    expect(obs[0]).toEqual({ ok: true, value: 3 });
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(1, 2, 1) });
    expect(obs[3]).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(obs[4]).toMatchObject({ ok: false, errno: 'EFAULT' });
    const d = to_smmu_domain(s.world.hwpts[1]!.domain!);
    expect(d.stage).toBe('S1');
    expect(d.cd.asid).toBe(1);
    expect((s.world.iommus[0] as ArmSmmuDevice).asid_xa.xa_load(1)).toBe(d);
    const cd = dev_iommu_priv_get(s.world.devices[0]!).cd_table.table!.read(3);
    expect(cd).toMatchObject({ v: true, epd0: false, asid: 1, ttb0: d.pgtbl!.radix.root, levels: 4 });
    // A paging domain has no fault handler: no IOPF reference on the master.
    expect(d.devices.map((md) => md.using_iopf)).toEqual([false]);
  });

  test('HWPT 0 is a stage-2 nest parent with a VMID: -EINVAL at a PASID, and its unmap is TLBI_S2_IPA then TLBI_NH_ALL', () => {
    const { s, obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 3 },
      { kind: 'iommuMap', hwpt: 0, page: 1, write: true },
    ]);
    expect(obs[0]).toEqual({ ok: false, errno: 'EINVAL' });
    const d = to_smmu_domain(s.world.hwpts[0]!.domain!);
    expect([d.stage, d.nest_parent, d.s2_cfg.vmid, d.cd.asid]).toEqual(['S2', true, 1, 0]);
    expect((s.world.iommus[0] as ArmSmmuDevice).vmid_map).toEqual(new Set([1]));
    expect(dev_iommu_priv_get(s.world.devices[0]!).cd_table.used_ssids).toBe(0);
    expect(checkedStep(s, { kind: 'iommuUnmap', hwpt: 0, page: 1 })).toEqual([]);
    expect(cmdsOf(s, 0)).toEqual(['TLBI_S2_IPA', 'CMD_SYNC', 'completion', 'TLBI_NH_ALL', 'CMD_SYNC', 'completion']);
  });

  test('A replace onto the nest parent is -EINVAL and leaves the PASID on HWPT 1', () => {
    const { s, obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 },
    ]);
    expect(obs[1]).toEqual({ ok: false, errno: 'EINVAL' });
    expect(s.world.hwpts[1]!.pasid.get(s.world.devices[0]!.group)).toBe(3);
    expect(dev_iommu_priv_get(s.world.devices[0]!).cd_table.table!.read(3).asid).toBe(to_smmu_domain(s.world.hwpts[1]!.domain!).cd.asid);
  });

  test('A master of another SMMU is -EINVAL (the domain was finalised for smmu0)', () => {
    const { obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'attachPasid', dev: 2, hwpt: 1, pasid: 3 },
    ]);
    expect(obs[1]).toEqual({ ok: false, errno: 'EINVAL' });
  });

  test('The ASID comes from the global xarray SVA uses: with every ASID taken the HWPT is -EBUSY', () => {
    const tiny = { ...t, iommus: t.iommus.map((u) => ({ ...u, asidBits: 1 })) };
    const { s, obs } = run([
      { kind: 'spawn', mm: 0 },
      { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 5 },
    ], tiny);
    expect(obs[2]).toEqual({ ok: false, errno: 'EBUSY' });
    expect(s.world.hwpts[1]!.domain).toBeUndefined();
  });

  test('ATS on (dev0): the unmap is TLBI_NH_VA + sync, then ATC_INV of (SID, SSID) + sync, and the ATC entry is gone', () => {
    const { s } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true },
    ]);
    const master = dev_iommu_priv_get(s.world.devices[0]!);
    expect(master.ats_enabled).toBe(true);
    expect(to_smmu_domain(s.world.hwpts[1]!.domain!).nr_ats_masters).toBe(1);
    expect(s.world.devices[0]!.hw.atcEntries().some((e) => e.pasid === 3 && e.vpn === iovaVpn(0))).toBe(true);
    expect(checkedStep(s, { kind: 'iommuUnmap', hwpt: 1, page: 0 })).toEqual([]);
    expect(cmdsOf(s, 0)).toEqual(['TLBI_NH_VA', 'CMD_SYNC', 'completion', 'ATC_INV', 'CMD_SYNC', 'completion']);
    expect(s.world.devices[0]!.hw.atcEntries().some((e) => e.pasid === 3)).toBe(false);
  });

  test('ATS off (dev1, no ATS capability): the unmap sends no ATC_INV at all (nr_ats_masters is 0)', () => {
    const { s } = run([
      { kind: 'attachPasid', dev: 1, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 1, hwpt: 1, page: 0, write: true },
    ]);
    expect(dev_iommu_priv_get(s.world.devices[1]!).ats_enabled).toBe(false);
    expect(checkedStep(s, { kind: 'iommuUnmap', hwpt: 1, page: 0 })).toEqual([]);
    expect(cmdsOf(s, 0)).toEqual(['TLBI_NH_VA', 'CMD_SYNC', 'completion']);
  });

  test('ATS follows the CD table: enabled with the first PASID, disabled when the last one goes (bypass STE)', () => {
    const { s } = run([{ kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 }]);
    const master = dev_iommu_priv_get(s.world.devices[0]!);
    expect([master.ats_enabled, master.ste_ats_enabled, s.world.devices[0]!.hw.atsEnabled]).toEqual([true, true, true]);
    expect(checkedStep(s, { kind: 'detachPasid', dev: 0, hwpt: 1 })).toEqual([]);
    expect([master.ats_enabled, master.ste_ats_enabled, s.world.devices[0]!.hw.atsEnabled, master.cd_table.in_ste]).toEqual([false, false, false, false]);
  });

  test('An SVA PASID and a paging PASID share the group pasid_array: the second is -EBUSY', () => {
    const { obs } = run([
      { kind: 'spawn', mm: 0 },
      { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 1 },
    ]);
    expect(obs[1]).toEqual({ ok: true, value: 1 });
    expect(obs[2]).toEqual({ ok: false, errno: 'EBUSY' });
  });

  test('arm_smmu_domain_free_paging gives the ASID back to arm_smmu_asid_xa and the VMID to vmid_map (iommufd never frees a HWPT here)', () => {
    const { s } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 3 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 4 },
      { kind: 'detachPasid', dev: 0, hwpt: 1 },
    ]);
    const smmu = s.world.iommus[0] as ArmSmmuDevice;
    for (const h of [0, 1]) {
      const domain = s.world.hwpts[h]!.domain!;
      sync(smmu.kernel, domain.ops.free(domain));
      expect(domain.freed).toBe(true);
    }
    expect(smmu.asid_xa.indices()).toEqual([]);
    expect(smmu.vmid_map.size).toBe(0);
  });
});
