import { describe, expect, test } from 'vitest';
import { sync } from '../../../src/impl/core/sched.js';
import { iommu_sva_bind_device } from '../../../src/impl/core/iommuSva.js';
import type { SmmuCmd } from '../../../src/hw/smmuv3/index.js';
import { arm_smmu_atc_inv_to_cmd } from '../../../src/impl/smmuv3/inv.js';
import { CMDQ_MAX_TLBI_OPS, arm_smmu_mmu_notifier_ops } from '../../../src/impl/smmuv3/sva.js';
import { to_smmu_domain, type ArmSmmuDomain } from '../../../src/impl/smmuv3/structs.js';
import { ULONG_MAX, userVpn, vpnToVa } from '../../../src/shared/index.js';
import { devSpec, kinds, smmuSpec, smmuWorld, type SmmuWorld } from './world.js';

const setup = (rangeInv: boolean): { w: SmmuWorld; sd: ArmSmmuDomain; inv: (start: bigint, end: bigint) => SmmuCmd[] } => {
  const w = smmuWorld([smmuSpec({ rangeInv })], [devSpec(0, 0)]);
  const mm = w.spawn(0, 2);
  const r = sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm));
  if (!r.ok) throw new Error(r.errno);
  const sd = to_smmu_domain(r.value.domain);
  w.take();
  const inv = (start: bigint, end: bigint): SmmuCmd[] => {
    sync(mm.kernel, arm_smmu_mmu_notifier_ops.arch_invalidate_secondary_tlbs(sd.mmu_notifier!, mm, start, end));
    return w.take();
  };
  return { w, sd, inv };
};

const BASE = 0x40000000n;
const pages = (n: bigint): bigint => n << 12n;
/** The pages each TLBI_NH_VA of a list covers, as [first vpn, count]. */
const spans = (cmds: SmmuCmd[]): [number, number][] =>
  cmds.flatMap((c) => (c.kind === 'TLBI_NH_VA' ? [[c.addr, c.tg === 0 ? 1 : (c.num + 1) * 2 ** c.scale] as [number, number]] : []));

describe('SMMUv3 invalidation encodings', () => {
  test('CMDQ_MAX_TLBI_OPS is 512 at 4K pages', () => {
    expect(CMDQ_MAX_TLBI_OPS).toBe(512n);
  });

  test('without RANGE_INV, 511 pages are 511 TLBI_NH_VA and 512 pages become one TLBI_NH_ASID', () => {
    const { sd, inv } = setup(false);
    const small = inv(BASE, BASE + pages(511n));
    expect(kinds(small).filter((k) => k === 'TLBI_NH_VA')).toHaveLength(511);
    // Published in batches of 64 without a sync; one sync ends the TLBI batch.
    expect(kinds(small).indexOf('CMD_SYNC')).toBe(511);
    expect(spans(small).at(-1)).toEqual([Number((BASE >> 12n) + 510n), 1]);
    const big = inv(BASE, BASE + pages(512n));
    expect(big.slice(0, 2)).toEqual([{ kind: 'TLBI_NH_ASID', asid: sd.cd.asid }, { kind: 'CMD_SYNC' }]);
    expect(big[2]).toMatchObject({ kind: 'ATC_INV', size: 52 });
  });

  test('with RANGE_INV, (0, ULONG_MAX) is one TLBI_NH_ASID and the whole ATC', () => {
    const { sd, inv } = setup(true);
    expect(inv(0n, ULONG_MAX)).toEqual([
      { kind: 'TLBI_NH_ASID', asid: sd.cd.asid }, { kind: 'CMD_SYNC' },
      { kind: 'ATC_INV', sid: 0, ssv: true, ssid: 1, addr: 0, size: 52 }, { kind: 'CMD_SYNC' },
    ]);
  });

  test('with RANGE_INV, a range is split into 5-bit NUM chunks that cover it exactly from its unaligned start', () => {
    const { inv } = setup(true);
    const first = Number((BASE >> 12n) + 3n);
    // 35 pages = 0b100011: one page is not widened (35 & 31 = 3), chunks of 1<<0 * 3 and 1<<5 * 1.
    const cmds = inv(BASE + pages(3n), BASE + pages(38n));
    expect(spans(cmds)).toEqual([[first, 3], [first + 3, 32]]);
    expect(cmds.filter((c) => c.kind === 'TLBI_NH_VA').every((c) => c.kind === 'TLBI_NH_VA' && c.tg === 1 && c.ttl === 0 && !c.leaf)).toBe(true);
    // 33 pages: 33 & 31 = 1, widened to 34 = 17 << 1.
    expect(spans(inv(BASE, BASE + pages(33n)))).toEqual([[Number(BASE >> 12n), 34]]);
    // A huge range stays ranged: 2^20 pages in one command.
    expect(spans(inv(BASE, BASE + pages(1n << 20n)))).toEqual([[Number(BASE >> 12n), 2 ** 20]]);
  });

  test('ATC_INV spans are the smallest aligned power of two covering the range', () => {
    expect(arm_smmu_atc_inv_to_cmd(4, 1, pages(8n), pages(4n))).toMatchObject({ addr: 8, size: 2 });
    expect(arm_smmu_atc_inv_to_cmd(4, 1, pages(7n), pages(4n))).toMatchObject({ addr: 0, size: 4 });
    expect(arm_smmu_atc_inv_to_cmd(4, 1, pages(5n), pages(1n))).toMatchObject({ addr: 5, size: 0 });
    expect(arm_smmu_atc_inv_to_cmd(4, 1, pages(5n), 0n)).toEqual({ kind: 'ATC_INV', sid: 4, ssv: true, ssid: 1, addr: 0, size: 52 });
    expect(arm_smmu_atc_inv_to_cmd(4, 0, 0n, 0n)).toMatchObject({ ssv: false, size: 52 });
  });

  test('a ranged invalidation drops exactly the covering span from the device ATC', () => {
    const { w, inv } = setup(true);
    const dev = w.devs[0]!.hw;
    dev.prefetch(1, userVpn(0));
    dev.prefetch(1, userVpn(1));
    expect(dev.atcEntries()).toHaveLength(2);
    const cmds = inv(vpnToVa(userVpn(1)), vpnToVa(userVpn(1) + 1));
    expect(cmds.find((c) => c.kind === 'ATC_INV')).toMatchObject({ addr: userVpn(1), size: 0 });
    expect(dev.atcEntries().map((e) => e.vpn)).toEqual([userVpn(0)]);
  });
});
