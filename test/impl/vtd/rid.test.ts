import { describe, expect, test } from 'vitest';
import { runSequence } from '../../../src/harness/index.js';
import { NESTED_HWPT, defaultTopology, iovaToken, type Command } from '../../../src/shared/index.js';
import { dev_iommu_priv_get, to_dmar_domain, type IntelIommu } from '../../../src/impl/vtd/dmar.js';
import { checkedRun } from './checkedRun.js';

const run = (cmds: readonly Command[]) => checkedRun(cmds);

const attachRid = (dev: number, hwpt: number): Command => ({ kind: 'attachPasid', dev, hwpt, pasid: 0 });
const map = (hwpt: number, page: number): Command => ({ kind: 'iommuMap', hwpt, page, write: true });
const dma = (dev: number, hwpt: number, page: number): Command => ({ kind: 'dmaIova', dev, hwpt, page, write: false });

describe('RID attach of paging domains (VT-d, intel_iommu_attach_device, v7.0)', () => {
  test('the first RID attach takes DMA ownership and writes the IOMMU_NO_PASID entry in the domain\'s form', () => {
    const { s } = run([attachRid(0, 1), attachRid(2, 0)]);
    const w = s.world;
    for (const [dev, hwpt, pgtt] of [[0, 1, 'FL'], [2, 0, 'SL']] as const) {
      const d = w.devices[dev]!;
      const info = dev_iommu_priv_get(d);
      const dmar = to_dmar_domain(w.hwpts[hwpt]!.domain!);
      const did = dmar.iommu_array!.get(d.iommu as IntelIommu)!.did;
      expect(info.pasid_table!.read(0)).toMatchObject({ present: true, pgtt, did, [pgtt === 'FL' ? 'flptr' : 'slptr']: dmar.pgtable!.radix.root });
      expect(d.group.owner_cnt).toBe(1);
      expect(d.group.domain).toBe(w.hwpts[hwpt]!.domain);
      expect(d.group.pasid_array.get(0)).toEqual({ kind: 'domain', domain: w.hwpts[hwpt]!.domain });
      expect(info.domain).toBe(dmar);
      expect(dmar.devices).toEqual([info]);
      // RID tags at IOMMU_NO_PASID: IOTLB, and DEVTLB for the ATS device.
      expect(dmar.cache_tags.map((t) => `${t.type}/${t.pasid}`)).toEqual(['IOTLB/0', 'DEVTLB/0']);
    }
  });

  test('a device without PASID support DMAs through its RID; an unmap flushes the RID (P_IOTLB at PASID 0, devTLB without PASID)', () => {
    const topo = defaultTopology('vtd');
    const t = { ...topo, devices: topo.devices.map((d, i) => (i === 0 ? { ...d, pasidBits: 0 } : d)) };
    const r = runSequence(t, [attachRid(0, 1), map(1, 2), dma(0, 1, 2), { kind: 'iommuUnmap', hwpt: 1, page: 2 }, dma(0, 1, 2)]);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    const steps = r.value.session.steps;
    expect(steps[2]!.actual).toEqual({ ok: true, value: iovaToken(1, 2, 1) });
    // The ATC entry the first DMA left is gone with the unmap: the second DMA faults.
    expect(steps[4]!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(r.value.session.world.devices[0]!.hw.atcEntries()).toEqual([]);
  });

  test('the unmap\'s descriptors: PASID-based IOTLB at PASID 0 for a first-stage domain, then the devTLB without PASID (PASID 0 here: untagged)', () => {
    const { descs } = run([attachRid(0, 1), map(1, 0), dma(0, 1, 0), { kind: 'iommuUnmap', hwpt: 1, page: 0 }]);
    const unmap = descs[3]!;
    expect(unmap.filter((d) => d.startsWith('piotlb') || d.startsWith('devtlb')).map((d) => d.split(' ').slice(0, 3).join(' ')))
      .toEqual([expect.stringMatching(/^piotlb did=\d+ pasid=0$/), 'devtlb sid=0 pasid=0']);
  });

  test('ownership: -EBUSY while a PASID of the group is attached; once taken it stays, so a later attach beside an SVA bind works', () => {
    const bound: Command[] = [{ kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }];
    const { obs } = run([...bound, attachRid(0, 1)]);
    expect(obs[2]).toEqual({ ok: false, errno: 'EBUSY' });
    const { obs: later, s } = run([attachRid(0, 1), { kind: 'detachPasid', dev: 0, hwpt: 1 }, ...bound, attachRid(0, 0)]);
    expect(later[4]).toEqual({ ok: true, value: 0 });
    expect(s.world.devices[0]!.group.owner_cnt).toBe(1);
  });

  test('detach blocks the RID: entry torn down (PASID cache, IOTLB, devTLB), tags gone, the group on the blocking domain', () => {
    const { s, descs } = run([attachRid(0, 1), { kind: 'detachPasid', dev: 0, hwpt: 1 }]);
    const d = s.world.devices[0]!;
    const info = dev_iommu_priv_get(d);
    expect(info.pasid_table!.read(0).present).toBe(false);
    expect(info.domain).toBeUndefined();
    expect(info.domain_attached).toBe(false);
    expect(d.group.domain).toBe(d.iommu.ops.blocked_domain);
    expect(d.group.pasid_array.has(0)).toBe(false);
    expect(to_dmar_domain(s.world.hwpts[1]!.domain!).cache_tags).toEqual([]);
    expect(descs[1]!.map((x) => x.split(' ')[0])).toEqual(expect.arrayContaining(['pc', 'piotlb', 'devtlb']));
  });

  test('replace moves the RID from a first-stage to a second-stage domain; DMA reads the new one', () => {
    const { obs, s } = run([attachRid(0, 1), map(1, 0), dma(0, 1, 0), { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 }, map(0, 0), dma(0, 0, 0)]);
    expect(obs[2]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(obs[5]).toEqual({ ok: true, value: iovaToken(0, 0, 1) });
    expect(dev_iommu_priv_get(s.world.devices[0]!).pasid_table!.read(0).pgtt).toBe('SL');
    expect(to_dmar_domain(s.world.hwpts[1]!.domain!).devices).toEqual([]);
  });
});

describe('finding vtd-rid-replace-blocks', () => {
  const cmds: Command[] = [
    attachRid(0, 0), map(0, 0), { kind: 'failNext', site: 'kzalloc@domain_qi_batch_alloc' },
    { kind: 'replacePasid', dev: 0, hwpt: 1, from: 0 }, dma(0, 0, 0),
  ];

  test('mainline: the failed replace leaves the device blocked with HWPT 0 still attached (I-FAIL, strict)', () => {
    const r = runSequence(defaultTopology('vtd'), cmds, { strict: true });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toMatchObject({ invariant: 'I-FAIL', step: 3 });
    const d = r.value.session.world.devices[0]!;
    expect(d.group.domain).toBe(r.value.session.world.hwpts[0]!.domain);
    expect(dev_iommu_priv_get(d).domain_attached).toBe(false);
  });

  test('with the proposed fix the device is back on HWPT 0 and its DMA reads it', () => {
    const r = runSequence(defaultTopology('vtd'), cmds, { strict: true, fixes: ['vtd-rid-replace-blocks'] });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    expect(r.value.session.steps[4]!.actual).toEqual({ ok: true, value: iovaToken(0, 0, 1) });
  });
});

describe('finding vtd-rid-attach-tags-twice', () => {
  // dev2 and dev3 (ATS) behind IOMMU 1, in two groups; dev3's devTLB tag fails.
  const cmds: Command[] = [
    attachRid(2, 1), map(1, 0), { kind: 'failNext', site: 'kzalloc@cache_tag_assign' }, attachRid(3, 1),
    dma(2, 1, 0), { kind: 'iommuUnmap', hwpt: 1, page: 0 }, dma(2, 1, 0),
  ];
  const tags = (r: ReturnType<typeof runSequence>) => {
    if (!r.ok) throw new Error(r.error);
    return to_dmar_domain(r.value.session.world.hwpts[1]!.domain!).cache_tags.map((t) => `${t.type}/${t.iommu.name}/${t.pasid}/${t.dev?.id ?? '-'}x${t.users}`);
  };

  test('mainline: the failed attach drops dev2\'s IOTLB tag; the unmap leaves the IOTLB entry (I6, strict)', () => {
    const r = runSequence(defaultTopology('vtd'), cmds.slice(0, 4), { strict: true });
    expect(tags(r)).toEqual(['DEVTLB/dmar1/0/2x1']);
    const full = runSequence(defaultTopology('vtd'), cmds, { strict: true });
    if (!full.ok) throw new Error(full.error);
    expect(full.value.session.violation).toMatchObject({ invariant: 'I6', step: 5 });
  });

  test('with the proposed fix the tags are as before the failed attach and the unmap flushes', () => {
    const r = runSequence(defaultTopology('vtd'), cmds, { strict: true, fixes: ['vtd-rid-attach-tags-twice'] });
    expect(tags(r)).toEqual(['IOTLB/dmar1/0/-x1', 'DEVTLB/dmar1/0/2x1']);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.session.violation).toBeUndefined();
    expect(r.value.session.steps[6]!.actual).toMatchObject({ ok: false, errno: 'EFAULT' });
  });
});

describe('RID attach of the nested HWPT (VT-d, intel_nested_attach_dev, v7.0)', () => {
  const guest: Command[] = [map(0, 2), { kind: 'guestMap', page: 1, gpa: 2, write: true }];

  test('the IOMMU_NO_PASID entry is PGTT nested with the nested domain\'s DID; a DMA without PASID composes both stages', () => {
    const { s, obs } = run([attachRid(0, NESTED_HWPT), ...guest, dma(0, NESTED_HWPT, 1), { kind: 'guestUnmap', page: 1 }, dma(0, NESTED_HWPT, 1)]);
    const w = s.world;
    const nested = to_dmar_domain(w.hwpts[NESTED_HWPT]!.domain!);
    const parent = to_dmar_domain(w.hwpts[0]!.domain!);
    const did = nested.iommu_array!.get(w.iommus[0] as IntelIommu)!.did;
    expect(dev_iommu_priv_get(w.devices[0]!).pasid_table!.read(0)).toMatchObject({ present: true, pgtt: 'NESTED', slptr: parent.pgtable!.radix.root, did });
    expect(dev_iommu_priv_get(w.devices[0]!).domain).toBe(nested);
    expect(nested.cache_tags.map((t) => `${t.type}/${t.pasid}`)).toEqual(['IOTLB/0', 'DEVTLB/0']);
    expect(parent.cache_tags.map((t) => `${t.type}/${t.pasid}`)).toEqual(['NESTING_IOTLB/0', 'NESTING_DEVTLB/0']);
    expect(obs[3]).toEqual({ ok: true, value: iovaToken(0, 2, 1) });
    // The guest's invalidation reaches the RID's IOTLB and ATC entries: the second DMA faults.
    expect(obs[5]).toMatchObject({ ok: false, errno: 'EFAULT' });
  });

  test('replace paging → nested → paging at the RID, then detach: the tags and DIDs follow; the parent\'s NESTING tags go with the nested one', () => {
    const { s, obs } = run([
      attachRid(0, 1), map(1, 0), dma(0, 1, 0),
      { kind: 'replacePasid', dev: 0, hwpt: NESTED_HWPT, from: 1 }, ...guest, dma(0, NESTED_HWPT, 1),
      { kind: 'replacePasid', dev: 0, hwpt: 1, from: NESTED_HWPT }, dma(0, 1, 0), { kind: 'detachPasid', dev: 0, hwpt: 1 },
    ]);
    expect(obs[6]).toEqual({ ok: true, value: iovaToken(0, 2, 1) });
    expect(obs[8]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    const w = s.world;
    expect(to_dmar_domain(w.hwpts[0]!.domain!).cache_tags).toEqual([]);
    expect(to_dmar_domain(w.hwpts[NESTED_HWPT]!.domain!).iommu_array!.size).toBe(0);
  });

  test('a failed nested replace (its tag) leaves the device blocked: finding vtd-rid-replace-blocks; the fix puts it back on the paging domain', () => {
    const cmds: Command[] = [
      attachRid(0, 1), map(1, 0), { kind: 'failNext', site: 'kzalloc@cache_tag_assign' },
      { kind: 'replacePasid', dev: 0, hwpt: NESTED_HWPT, from: 1 }, dma(0, 1, 0),
    ];
    const mainline = runSequence(defaultTopology('vtd'), cmds, { strict: true });
    if (!mainline.ok) throw new Error(mainline.error);
    expect(mainline.value.session.violation).toMatchObject({ invariant: 'I-FAIL', step: 3 });
    const fixed = runSequence(defaultTopology('vtd'), cmds, { strict: true, fixes: ['vtd-rid-replace-blocks'] });
    if (!fixed.ok) throw new Error(fixed.error);
    expect(fixed.value.session.violation).toBeUndefined();
    expect(fixed.value.session.steps[4]!.actual).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
  });
});
