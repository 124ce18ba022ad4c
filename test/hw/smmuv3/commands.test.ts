import { describe, expect, test } from 'vitest';
import { HwError } from '../../../src/hw/errors.js';
import type { SmmuCmd } from '../../../src/hw/smmuv3/index.js';
import { A, rig, sync } from './fixture.js';

const ipa = (vmid: number, over: Partial<Extract<SmmuCmd, { kind: 'TLBI_S2_IPA' }>> = {}): SmmuCmd => ({
  kind: 'TLBI_S2_IPA', vmid, addr: A, leaf: true, num: 0, scale: 0, tg: 0, ttl: 0, ...over,
});

const warm = (r: ReturnType<typeof rig>): void => {
  for (let i = 0; i < 4; i++) r.smmu.translate(r.dev, 1, A + i, false);
};

describe('SMMUv3 stage-2 invalidations (TLBI_S2_IPA, TLBI_NH_ALL, TLBI_S12_VMALL)', () => {
  test('TLBI_S2_IPA evicts no stage-1 entry: nothing here is cached under a stage-2 translation', () => {
    const r = rig();
    warm(r);
    r.smmu.submit(ipa(1));
    expect(sync(r.smmu)).toBe('completed');
    expect(r.smmu.tlb.entries()).toHaveLength(4);
    expect(r.smmu.counters.snapshot()['cmdq.TLBI_S2_IPA']).toBe(1);
  });

  test.each(['TLBI_NH_ALL', 'TLBI_S12_VMALL'] as const)('%s of a nest parent\'s VMID leaves the VMID-0 stage-1 entries; of VMID 0 it drops them all', (kind) => {
    const r = rig();
    warm(r);
    r.smmu.submit({ kind, vmid: 1 });
    sync(r.smmu);
    expect(r.smmu.tlb.entries()).toHaveLength(4);
    r.smmu.submit({ kind, vmid: 0 });
    sync(r.smmu);
    expect(r.smmu.tlb.entries()).toEqual([]);
    expect(r.smmu.walkCache.entries()).toEqual([]);
    expect(r.smmu.counters.snapshot()[`cmdq.${kind}`]).toBe(2);
  });

  test('malformed stage-2 commands are refused as CERROR_ILL would: VMID width, a range without RANGE_INV', () => {
    expect(() => rig().smmu.submit(ipa(1 << 16))).toThrow(HwError);
    expect(() => rig({ rangeInv: false }).smmu.submit(ipa(1, { tg: 1, ttl: 3 }))).toThrow(/without RANGE_INV/);
    expect(() => rig().smmu.submit({ kind: 'TLBI_NH_ALL', vmid: -1 })).toThrow(HwError);
    expect(() => rig().smmu.submit({ kind: 'TLBI_S12_VMALL', vmid: 1 << 16 })).toThrow(HwError);
  });
});
