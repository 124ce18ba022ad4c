import { describe, expect, test } from 'vitest';
import { runSequence } from '../../src/harness/index.js';
import { type Command, type Topology, defaultTopology, iovaToken } from '../../src/shared/index.js';
import { initSpec, precondition } from '../../src/spec/index.js';
import { RID, atRid, ridAt, ridGroupable } from '../../src/spec/rid.js';
import { run } from './helpers.js';

const attachRid = (dev: number, hwpt: number): Command => ({ kind: 'attachPasid', dev, hwpt, pasid: 0 });

/** Two devices in one group behind one VT-d unit; dev0 a PRI endpoint. */
const twoInGroup: Topology = {
  platform: 'vtd', iommus: [{ pasidBits: 4, didBits: 16, asidBits: 2, rangeInv: true, prqSize: 16 }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }, { iommu: 0, group: 0, pasidBits: 0, ats: true, pri: false }],
  mms: 1, pages: 1, kpages: 0, ptLevels: 4,
};

/** Spec and kernel agree on every step (the checked run), and the last observation. */
const clean = (t: Topology, cmds: readonly Command[]) => {
  const r = runSequence(t, cmds);
  if (!r.ok) throw new Error(r.error);
  expect(r.value.session.violation).toBeUndefined();
  return r.value.session;
};

describe('the spec of HWPTs at a group\'s RID (spec/rid.ts)', () => {
  test('the first RID attach takes ownership: -EBUSY with a PASID attached; ownership stays after the detach', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 2 });
    expect(run(s, attachRid(0, 0))).toEqual({ ok: false, errno: 'EBUSY' });
    expect(s.ridOwned[0]).toBe(0);
    run(s, { kind: 'detachPasid', dev: 0, hwpt: 1 });
    expect(run(s, attachRid(0, 0))).toEqual({ ok: true, value: 0 });
    expect(ridAt(s, 0)).toBe(0);
    expect(s.hwpts[0]!.pasid[0]).toBe(RID);
    run(s, { kind: 'detachPasid', dev: 0, hwpt: 0 });
    expect(s.ridOwned[0]).toBe(1);
    run(s, { kind: 'attachPasid', dev: 0, hwpt: 1, pasid: 2 });
    // Owned already: no claim, no -EBUSY.
    expect(run(s, attachRid(0, 0))).toEqual({ ok: true, value: 0 });
  });

  test('preconditions: VT-d (the nested HWPT too) and SMMUv3 (stage 1 only), one HWPT at the RID (a second goes through replace)', () => {
    const s = initSpec(defaultTopology('vtd'));
    expect(precondition(s, attachRid(0, 2))).toBe(true);
    run(s, attachRid(0, 1));
    expect(precondition(s, attachRid(0, 0))).toBe(false);
    expect(precondition(s, { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 })).toBe(true);
    expect(precondition(s, { kind: 'replacePasid', dev: 0, hwpt: 2, from: 1 })).toBe(true);
    expect(precondition(initSpec(defaultTopology('smmuv3')), attachRid(0, 2))).toBe(false);
    expect(precondition(initSpec(defaultTopology('amd')), attachRid(0, 1))).toBe(false);
    const smmu = initSpec(defaultTopology('smmuv3'));
    expect([precondition(smmu, attachRid(0, 1)), precondition(smmu, attachRid(0, 0))]).toEqual([true, false]);
  });

  test('RID commands are told apart for the concurrent groups, which leave them out', () => {
    const s = initSpec(defaultTopology('vtd'));
    run(s, attachRid(0, 1));
    expect(atRid(s, attachRid(2, 0))).toBe(true);
    expect(atRid(s, { kind: 'attachPasid', dev: 2, hwpt: 0, pasid: 1 })).toBe(false);
    expect(atRid(s, { kind: 'replacePasid', dev: 0, hwpt: 0, from: 1 })).toBe(true);
    expect(atRid(s, { kind: 'detachPasid', dev: 0, hwpt: 1 })).toBe(true);
  });

  test('a group attach failing at its second device: the first goes back to blocking, the attachment is as before, the claim stays', () => {
    const session = clean(twoInGroup, [{ kind: 'failNth', n: 3 }, attachRid(0, 1), attachRid(0, 1)]);
    const obs = session.steps.map((st) => st.actual);
    expect(obs[1]).toMatchObject({ ok: false, errno: 'ENOMEM' });
    expect(obs[2]).toEqual({ ok: true, value: 0 });
    expect(session.spec.ridOwned[0]).toBe(1);
  });

  test('a non-PASID device of the group reads the RID\'s HWPT; a RID replace beside an SVA bind drains the PRI device\'s requests', () => {
    const prefix: Command[] = [
      attachRid(0, 1), { kind: 'iommuMap', hwpt: 1, page: 0, write: true }, { kind: 'dmaIova', dev: 1, hwpt: 1, page: 0, write: true },
      { kind: 'spawn', mm: 0 }, { kind: 'bind', dev: 0, mm: 0 }, { kind: 'dma', dev: 0, mm: 0, page: 0, write: true },
    ];
    expect(clean(twoInGroup, prefix).spec.prq).toHaveLength(1);
    const session = clean(twoInGroup, [...prefix, { kind: 'replacePasid', dev: 1, hwpt: 0, from: 1 }]);
    expect(session.steps[2]!.actual.ok).toBe(true);
    // The fault of dev0's DMA was queued; the replace's teardown of dev0's RID entry drained it.
    expect(session.spec.prq).toEqual([]);
    expect(session.spec.outstanding[0]).toBe(0);
  });

  test('ridGroupable: a VT-d RID attach of a one-device group, no injection armed, and no member beside it on the group\'s pasid_array until it is owned', () => {
    const s = initSpec(defaultTopology('vtd'));
    const a = attachRid(2, 1);
    const bind: Command = { kind: 'bind', dev: 2, mm: 0 };
    expect(ridGroupable(s, a, [a, { kind: 'iommuUnmap', hwpt: 1, page: 0 }])).toBe(true);
    // The claim reads the pasid_array, which the bind changes: not before the group is owned.
    expect(ridGroupable(s, a, [a, bind])).toBe(false);
    s.ridOwned[s.t.devGroup[2]!] = 1;
    expect(ridGroupable(s, a, [a, bind])).toBe(true);
    s.failNth = 2;
    expect(ridGroupable(s, a, [a])).toBe(false);
    s.failNth = 0;
    expect(ridGroupable(s, { kind: 'replacePasid', dev: 2, hwpt: 0, from: 1 }, [])).toBe(false);
    expect(ridGroupable(initSpec(twoInGroup), attachRid(0, 1), [])).toBe(false);
    expect(ridGroupable(initSpec(defaultTopology('smmuv3')), attachRid(0, 1), [])).toBe(false);
  });

  test('dmaPasid at PASID 0 is an access without PASID: the RID\'s HWPT translates it, no HWPT is no entry; VT-d only', () => {
    const session = clean(defaultTopology('vtd'), [
      { kind: 'dmaPasid', dev: 2, pasid: 0, page: 0, write: false }, attachRid(2, 1), { kind: 'iommuMap', hwpt: 1, page: 0, write: true },
      { kind: 'dmaPasid', dev: 2, pasid: 0, page: 0, write: true },
    ]);
    const obs = session.steps.map((st) => st.actual);
    expect(obs[0]).toMatchObject({ ok: false, errno: 'EFAULT' });
    expect(obs[3]).toEqual({ ok: true, value: iovaToken(1, 0, 1) });
    expect(precondition(initSpec(defaultTopology('smmuv3')), { kind: 'dmaPasid', dev: 0, pasid: 0, page: 0, write: false })).toBe(false);
  });
});
