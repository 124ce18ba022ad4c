import { describe, expect, test } from 'vitest';
import { checkedStep, openSession, runSequence } from '../../src/harness/index.js';
import { defaultTopology, iovaToken, iovaVpn } from '../../src/shared/index.js';
import type { Command } from '../../src/shared/index.js';
import { dev_iommu_priv_get, to_dmar_domain } from '../../src/impl/vtd/dmar.js';

const t = defaultTopology('vtd');

const run = (cmds: readonly Command[]) => {
  const s = openSession(t);
  const obs = cmds.map((c) => {
    const v = checkedStep(s, c);
    expect(v).toEqual([]);
    return s.steps[s.steps.length - 1]?.actual;
  });
  return { s, obs };
};

describe('iommufd paging domains at a PASID (VT-d)', () => {
  test('HWPT 0 is a second-stage nest parent: an SL PASID entry with its own DID, IOVA DMA through it', () => {
    const { s, obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 },
      { kind: 'iommuMap', hwpt: 0, page: 1, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 1, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 1, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 2, write: false },
    ]);
    expect(obs[0]).toEqual({ ok: true, value: 5 });
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(0, 1, 1) });
    expect(obs[3]).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(obs[4]).toMatchObject({ ok: false, errno: 'EFAULT' });
    const world = s.world;
    const entry = dev_iommu_priv_get(world.devices[0]!).pasid_table!.read(5);
    const dmar = to_dmar_domain(world.hwpts[0]!.domain!);
    const did = dmar.iommu_array!.get(world.iommus[0] as never)!.did;
    expect(did).toBeGreaterThanOrEqual(2);
    expect(entry).toMatchObject({ present: true, pgtt: 'SL', slptr: dmar.pgtable!.radix.root, did });
    expect(world.iommus[0]!.unit.counters.snapshot()['iotlb.miss']).toBeGreaterThan(0);
  });

  test('HWPT 1 is first-stage: an FL PASID entry whose table is the domain\'s, flushed with P_IOTLB on unmap', () => {
    const { s, obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 3 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true },
      { kind: 'iommuUnmap', hwpt: 1, page: 0 },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: false },
    ]);
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(obs[4]).toMatchObject({ ok: false, errno: 'EFAULT' });
    const entry = dev_iommu_priv_get(s.world.devices[0]!).pasid_table!.read(3);
    expect(entry).toMatchObject({ present: true, pgtt: 'FL', flptr: to_dmar_domain(s.world.hwpts[1]!.domain!).pgtable!.radix.root });
    expect(s.world.iommus[0]!.unit.counters.snapshot()['qi.piotlb']).toBeGreaterThan(0);
  });

  test('Two domains on one IOMMU get distinct DIDs; a detach gives its DID back', () => {
    const { s } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 6 },
    ]);
    const iommu = s.world.iommus[0] as never;
    const dids = [0, 1].map((h) => to_dmar_domain(s.world.hwpts[h]!.domain!).iommu_array!.get(iommu)!.did);
    expect(new Set(dids).size).toBe(2);
    expect(checkedStep(s, { kind: 'detachPasid', dev: 0, hwpt: 0 })).toEqual([]);
    expect(to_dmar_domain(s.world.hwpts[0]!.domain!).iommu_array!.size).toBe(0);
    expect((s.world.iommus[0] as unknown as { domain_ida: Set<number> }).domain_ida).toEqual(new Set([dids[1]]));
  });

  test('An SVA PASID and a paging PASID collide in the group\'s pasid_array: -EBUSY both ways', () => {
    const { obs } = run([
      { kind: 'spawn', mm: 0 },
      { kind: 'bind', dev: 0, mm: 0 },
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 1 },
      { kind: 'spawn', mm: 1 },
      { kind: 'attachPasid', dev: 2, hwpt: 0, pasid: 2 },
      { kind: 'bind', dev: 2, mm: 1 },
    ]);
    expect(obs[1]).toEqual({ ok: true, value: 1 });
    expect(obs[2]).toEqual({ ok: false, errno: 'EBUSY' });
    expect(obs[5]).toEqual({ ok: false, errno: 'EBUSY' });
  });

  test('An unbound mm\'s PASID number that a paging domain holds in the group translates through the domain', () => {
    const { obs } = run([
      { kind: 'spawn', mm: 0 },
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 1 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: false },
      { kind: 'bind', dev: 2, mm: 0 },
      { kind: 'dma', dev: 0, mm: 0, page: 0, write: false },
    ]);
    expect(obs[3]).toEqual({ ok: true, value: 1 });
    expect(obs[4]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(iovaVpn(0)).toBeGreaterThan(0);
  });

  test('On SMMUv3 the nest parent (HWPT 0) is stage 2: -EINVAL at a PASID; HWPT 1 (stage 1) attaches', () => {
    const s = openSession(defaultTopology('smmuv3'));
    expect(checkedStep(s, { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 1 })).toEqual([]);
    expect(s.steps[0]!.actual).toEqual({ ok: false, errno: 'EINVAL' });
    expect(checkedStep(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 1 })).toEqual([]);
    expect(s.steps[1]!.actual).toEqual({ ok: true, value: 1 });
  });
});

describe('PASID replacement (iommu_replace_device_pasid, VT-d replace branch)', () => {
  test('SL → FL: the old entry is torn down with DSI for its DID, the new one is first-level; the old DID is freed', () => {
    const { s } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 0, pasid: 5 },
      { kind: 'iommuMap', hwpt: 0, page: 0, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false },
      { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: true },
    ]);
    const w = s.world;
    expect(s.steps[5]!.actual).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(dev_iommu_priv_get(w.devices[0]!).pasid_table!.read(5)).toMatchObject({ present: true, pgtt: 'FL' });
    expect(w.iommus[0]!.unit.counters.snapshot()['qi.iotlb_dsi']).toBeGreaterThan(0);
    expect(to_dmar_domain(w.hwpts[0]!.domain!).iommu_array!.size).toBe(0);
    expect(w.devices[0]!.group.pasid_array.get(5)).toEqual({ kind: 'domain', domain: w.hwpts[1]!.domain });
  });

  test('A replaced PASID answers DMA through the new domain only', () => {
    const { obs } = run([
      { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 2 },
      { kind: 'iommuMap', hwpt: 1, page: 0, write: false },
      { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: false },
      { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 },
      { kind: 'dmaIova', dev: 0, hwpt: 0, page: 0, write: false },
    ]);
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(obs[4]).toMatchObject({ ok: false, errno: 'EFAULT' });
  });
});

describe('iommufd\'s and the RID\'s fallible calls: each fails before anything changes', () => {
  const failed = (platform: 'vtd' | 'smmuv3', cmds: readonly Command[]) => {
    const r = runSequence(defaultTopology(platform), cmds, { strict: true });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    return r.value.session;
  };
  const map: Command = { kind: 'iommuMap', hwpt: 1, page: 0, write: false };
  const dma: Command = { kind: 'dmaIova', dev: 0, hwpt: 1, page: 0, write: false };

  for (const platform of ['vtd', 'smmuv3'] as const) {
    for (const pasid of [0, 2]) {
      test(`${platform}: kzalloc@iommufd_hwpt_attach_device at PASID ${pasid} is -ENOMEM with the slot left empty; the retry attaches`, () => {
        const s = failed(platform, [
          { kind: 'failNext', site: 'kzalloc@iommufd_hwpt_attach_device' }, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid },
          { kind: 'attachPasid', dev: 0, hwpt: 1, pasid }, map, dma,
        ]);
        expect(s.steps[1]!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
        expect(s.steps[2]!.actual).toEqual({ ok: true, value: pasid });
        expect(s.steps[4]!.actual).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
      });
    }

    test(`${platform}: xa_insert@iommu_attach_group_handle is -ENOMEM; the group stays on its blocking domain, owned`, () => {
      const s = failed(platform, [{ kind: 'failNext', site: 'xa_insert@iommu_attach_group_handle' }, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 0 }]);
      expect(s.steps[1]!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
      const group = s.world.devices[0]!.group;
      expect(group.pasid_array.has(0)).toBe(false);
      expect([group.domain, group.owner_cnt]).toEqual([group.blocking_domain, 1]);
    });

    // SMMUv3's RID takes HWPT 1 only (its HWPT 0 is stage 2): no replace there.
    for (const pasid of platform === 'vtd' ? [0, 2] : [2]) {
      test(`${platform}: kzalloc@iommufd_hwpt_replace_device at PASID ${pasid} is -ENOMEM; the old domain keeps the slot and translates`, () => {
        const s = failed(platform, [
          { kind: 'attachPasid', dev: 0, hwpt: 1, pasid }, map,
          { kind: 'failNext', site: 'kzalloc@iommufd_hwpt_replace_device' }, { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 }, dma,
        ]);
        expect(s.steps[3]!.actual).toEqual({ ok: false, errno: 'ENOMEM' });
        expect(s.world.devices[0]!.group.pasid_array.get(pasid)).toEqual({ kind: 'domain', domain: s.world.hwpts[1]!.domain });
        expect(s.steps[4]!.actual).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
      });
    }
  }
});
