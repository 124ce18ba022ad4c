import { describe, expect, test } from 'vitest';
import { sync } from '../../../src/impl/core/sched.js';
import { CD_ZERO, type Cd } from '../../../src/hw/smmuv3/index.js';
import { arm_smmu_get_cd_used, arm_smmu_make_sva_cd, CD_LAYOUT } from '../../../src/impl/smmuv3/cd.js';
import { arm_smmu_write_entry } from '../../../src/impl/smmuv3/entryWriter.js';
import { devSpec, master, smmuSpec, smmuWorld } from './world.js';

/** A CD in plain memory with a recording writer: every sync sees the entry as it then was. */
const recorder = (start: Cd): { cd: () => Cd; seen: Cd[]; write: (t: Cd) => void } => {
  let cur = start;
  const seen: Cd[] = [];
  return {
    cd: () => cur,
    seen,
    write: (t) => {
      // The writer is a generator: run it to the end here (no kernel, no scheduler).
      const sync = function* (): Generator<never, void> {
        seen.push(cur);
      };
      for (const _ of arm_smmu_write_entry({ layout: CD_LAYOUT, read: () => cur, write: (c) => (cur = c), sync }, t)) void _;
    },
  };
};

const sva: Cd = { ...CD_ZERO, v: true, r: true, a: true, asid: 3, levels: 4, ttb0: 77 };
const quiet: Cd = { ...CD_ZERO, v: true, a: true, epd0: true, asid: 3 };

describe('SMMUv3 CD writes', () => {
  test('make_sva_cd points TTB0 at the pgd, and without an mm gives the quiet CD', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const m = master(w.devs[0]!);
    expect(arm_smmu_make_sva_cd(m, mm, 5)).toEqual({ ...CD_ZERO, v: true, r: true, a: true, asid: 5, levels: 4, ttb0: mm.pgd.pgd });
    expect(arm_smmu_make_sva_cd(m, undefined, 5)).toEqual({ ...quiet, asid: 5 });
  });

  test('EPD0 makes TTB0 and T0SZ unused, an invalid CD uses only V', () => {
    expect(arm_smmu_get_cd_used(CD_ZERO)).toBe(1);
    expect(arm_smmu_get_cd_used(quiet) & (1 << 7)).toBe(0);
    expect(arm_smmu_get_cd_used(sva) & (1 << 7)).not.toBe(0);
  });

  test('installing an SVA CD is hitless: TTB0 first, then qword 0 with V, each synced', () => {
    const r = recorder(CD_ZERO);
    r.write(sva);
    expect(r.seen).toEqual([{ ...CD_ZERO, ttb0: 77 }, sva]);
  });

  test('the swap to the quiet CD never shows an invalid CD, and TTB0 is cleared afterwards', () => {
    const r = recorder(sva);
    r.write(quiet);
    expect(r.seen).toEqual([{ ...quiet, ttb0: 77 }, quiet]);
    expect(r.seen.every((c) => c.v)).toBe(true);
  });

  test('clearing a CD drops V first', () => {
    const r = recorder(sva);
    r.write(CD_ZERO);
    expect(r.seen[0]!.v).toBe(false);
    expect(r.cd()).toEqual(CD_ZERO);
  });

  test('changing both the ASID and TTB0 is a breaking update through V = 0', () => {
    const r = recorder(sva);
    r.write({ ...sva, asid: 4, ttb0: 88 });
    expect(r.seen.map((c) => c.v)).toEqual([false, false, true]);
    expect(r.cd()).toEqual({ ...sva, asid: 4, ttb0: 88 });
  });

  test('writing an identical CD issues no sync', () => {
    const r = recorder(sva);
    r.write(sva);
    expect(r.seen).toEqual([]);
  });

  test('a 2-level CD table allocates the leaf and syncs its L1 descriptor with CFGI_CD leaf = 0', async () => {
    const { iommu_sva_bind_device } = await import('../../../src/impl/core/iommuSva.js');
    const w = smmuWorld([smmuSpec({ pasidBits: 12 })], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    expect(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)).ok).toBe(true);
    const m = master(w.devs[0]!);
    expect(m.cd_table.table!.format).toBe('2lvl');
    expect(w.take()[0]).toEqual({ kind: 'CFGI_CD', sid: 0, ssid: mm.iommu_mm!.pasid, leaf: false });
  });
});
