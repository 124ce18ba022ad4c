/**
 * The SMMUv3 driver as tasks: its yield points, what the hardware can fetch between the
 * hitless writer's stores, and the locks held at each yield (arm_smmu_asid_lock,
 * &smmu_domain->devices_lock), stepped by hand with stepTask as a scheduler would.
 */
import { sync } from '../../../src/impl/core/sched.js';
import { describe, expect, test } from 'vitest';
import { iommu_sva_bind_device } from '../../../src/impl/core/iommuSva.js';
import { coreOf } from '../../../src/impl/core/kernel.js';
import { spin_lock, spin_unlock } from '../../../src/impl/core/locking.js';
import { type Co, type Task, type Yield, schedOf, spawn, stepTask } from '../../../src/impl/core/sched.js';
import type { IommuSva, Kernel } from '../../../src/impl/core/types.js';
import { arm_smmu_attach_dev_sid_domain, arm_smmu_blocking_set_dev_pasid } from '../../../src/impl/smmuv3/attach.js';
import { arm_smmu_alloc_cd_ptr, arm_smmu_make_sva_cd, arm_smmu_write_cd_entry } from '../../../src/impl/smmuv3/cd.js';
import { arm_smmu_ops } from '../../../src/impl/smmuv3/smmu.js';
import { arm_smmu_mm_release } from '../../../src/impl/smmuv3/sva.js';
import { to_smmu_domain } from '../../../src/impl/smmuv3/structs.js';
import { userVpn } from '../../../src/shared/index.js';
import { devSpec, master, smmuSpec, smmuWorld } from './world.js';

const CD_STORE = 'arm_smmu_write_cd_entry: WRITE_ONCE(cdptr->data[i])';
const STE_STORE = 'arm_smmu_write_ste: WRITE_ONCE(ste->data[i])';

const bound = (r: { ok: boolean; value?: IommuSva }): IommuSva => {
  if (!r.ok || r.value === undefined) throw new Error(`bind failed: ${JSON.stringify(r)}`);
  return r.value;
};

/** Step `t` to its end; at every yield call `at(y, t)` (the task is still `current`'s peer then). */
function runTask(kernel: Kernel, t: Task, at: (y: Yield, t: Task) => void = () => {}): Yield[] {
  const seen: Yield[] = [];
  for (let y = stepTask(kernel, t); y !== undefined; y = stepTask(kernel, t)) {
    seen.push(y);
    at(y, t);
  }
  return seen;
}

const heldNames = (t: Task): string[] => t.held.map((l) => l.name);

describe('SMMUv3 tasks: hardware-visible stores', () => {
  test('a CD install is fetchable between steps: TTB0 stored, V still clear', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const m = master(w.devs[0]!);
    const table = m.cd_table.table!;
    const ssid = 5;
    const target = arm_smmu_make_sva_cd(m, mm, 7);
    const t = spawn(w.kernel, 'writer', 'cpu', arm_smmu_write_cd_entry(m, ssid, target));
    const fetched: string[] = [];
    const ys = runTask(w.kernel, t, (y) => {
      if (y.what !== CD_STORE) return;
      const cd = table.fetch(ssid)!;
      fetched.push(`v=${cd.v} asid=${cd.asid} ttb0=${cd.ttb0}`);
    });
    // Hitless: qword 0 (V) is the critical one. Step 1 stores what the invalid CD ignores
    // (qword 1: TTB0) and syncs; step 2 stores qword 0 whole (V, ASID, TCR) and syncs. Between
    // them the SMMU can fetch the intermediate CD: TTB0 already there, V still clear.
    expect(fetched).toEqual([`v=false asid=0 ttb0=${target.ttb0}`, `v=true asid=7 ttb0=${target.ttb0}`]);
    expect(target.ttb0).not.toBe(0);
    // Each step ends with its CFGI_CD + CMD_SYNC wait, a yield of its own.
    expect(ys.filter((y) => y.what === 'arm_smmu_cmdq_poll_until_sync')).toHaveLength(2);
    expect(table.fetch(ssid)).toEqual(target);
  });

  test('a breaking CD update (ASID and TTB0 both change) lets the SMMU fetch V = 0 in between', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const m = master(w.devs[0]!);
    const pasid = mm.iommu_mm!.pasid;
    const old = m.cd_table.table!.fetch(pasid)!;
    const mm2 = w.spawn(1);
    const target = arm_smmu_make_sva_cd(m, mm2, to_smmu_domain(h.domain).cd.asid + 1);
    expect(target.ttb0).not.toBe(old.ttb0);
    const t = spawn(w.kernel, 'writer', 'cpu', arm_smmu_write_cd_entry(m, pasid, target));
    const v: boolean[] = [];
    runTask(w.kernel, t, (y) => {
      if (y.what === CD_STORE) v.push(m.cd_table.table!.fetch(pasid)!.v);
    });
    expect(v[0]).toBe(false);
    expect(v.at(-1)).toBe(true);
    expect(m.cd_table.table!.fetch(pasid)).toEqual(target);
  });
});

describe('SMMUv3 tasks: the SMMU walks what memory holds mid-update', () => {
  test('DMA between the steps of a breaking CD update aborts on the V = 0 CD, and translates after', () => {
    // Without ATS, so no device-side ATC answers for the SMMU.
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0, { ats: false })]);
    const mm = w.spawn(0, 1);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const m = master(w.devs[0]!);
    const pasid = mm.iommu_mm!.pasid;
    const dev = w.devs[0]!.hw;
    expect(dev.dma(pasid, userVpn(0), false).ok).toBe(true);
    const mm2 = w.spawn(1, 1);
    const target = arm_smmu_make_sva_cd(m, mm2, to_smmu_domain(h.domain).cd.asid + 1);
    const t = spawn(w.kernel, 'writer', 'cpu', arm_smmu_write_cd_entry(m, pasid, target));
    // After each step's CMD_SYNC the SMMU's cached CD is gone: a DMA then fetches from memory.
    const dma: boolean[] = [];
    runTask(w.kernel, t, (y) => {
      if (y.what === 'arm_smmu_cmdq_poll_until_sync') dma.push(dev.dma(pasid, userVpn(0), false).ok);
    });
    expect(dma[0]).toBe(false);
    expect(dma.at(-1)).toBe(true);
  });
});

describe('SMMUv3 tasks: locks at yields', () => {
  test('arm_smmu_mm_release writes CDs under devices_lock: atomic at every CD store and CMD_SYNC wait', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const d = to_smmu_domain(h.domain);
    const table = master(w.devs[0]!).cd_table.table!;
    const pasid = mm.iommu_mm!.pasid;
    const old = table.fetch(pasid)!;
    const t = spawn(w.kernel, 'exit', 'cpu', arm_smmu_mm_release(d.mmu_notifier!, mm));
    let stores = 0;
    runTask(w.kernel, t, (y, task) => {
      if (y.what !== CD_STORE) return;
      // The quiet CD: qword 0 (EPD0 set, R/S clear) is the critical store; TTB0, ignored from
      // then on, is cleared in the step after, so the SMMU can fetch EPD0 with the old TTB0.
      if (stores++ === 0) expect(table.fetch(pasid)).toMatchObject({ v: true, epd0: true, ttb0: old.ttb0 });
      expect(heldNames(task)).toEqual(['&smmu_domain->devices_lock']);
      expect(task.atomic).toBe(1);
    });
    expect(stores).toBeGreaterThan(0);
    expect(t.atomic).toBe(0);
    expect(t.held).toEqual([]);
    expect(coreOf(w.kernel).warnings).toEqual([]);
  });

  test('a CD leaf allocated under devices_lock splats (B13 shape); the same allocation outside it does not', () => {
    const w = smmuWorld([smmuSpec({ pasidBits: 12 })], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const d = to_smmu_domain(h.domain);
    const m = master(w.devs[0]!);
    expect(m.cd_table.table!.format).toBe('2lvl');
    const far = 3000; // another 1024-CD leaf than the bound PASID's
    expect(m.cd_table.table!.hasLeaf(far)).toBe(false);
    const underLock = function* (): Co<boolean> {
      yield* spin_lock(d.devices_lock);
      const ok = yield* arm_smmu_alloc_cd_ptr(m, far);
      yield* spin_unlock(d.devices_lock);
      return ok;
    };
    runTask(w.kernel, spawn(w.kernel, 'b13', 'cpu', underLock()));
    expect(coreOf(w.kernel).warnings).toEqual([
      'BUG: sleeping function called from invalid context at arm_smmu_alloc_cd_leaf_table: dma_alloc_coherent(GFP_KERNEL) (in_atomic(): 1, holding &smmu_domain->devices_lock)',
    ]);
    coreOf(w.kernel).warnings.length = 0;
    runTask(w.kernel, spawn(w.kernel, 'fixed', 'cpu', arm_smmu_alloc_cd_ptr(m, far + 1024)));
    expect(coreOf(w.kernel).warnings).toEqual([]);
  });

  test('PASID removal holds arm_smmu_asid_lock at each CD store; the RID re-attach takes it again for the STE', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const dev = w.devs[0]!;
    const t = spawn(w.kernel, 'unbind', 'cpu', arm_smmu_blocking_set_dev_pasid(arm_smmu_ops.blocked_domain, dev, mm.iommu_mm!.pasid, h.domain));
    const at: string[] = [];
    runTask(w.kernel, t, (y, task) => {
      if (y.what === CD_STORE || y.what === STE_STORE) at.push(`${y.what === CD_STORE ? 'CD' : 'STE'} ${heldNames(task).join(',')}`);
    });
    // The CD clear (V = 0 and the rest) under the mutex alone, then the STE's downgrade to bypass.
    expect(at.length).toBeGreaterThanOrEqual(2);
    expect(at.every((s) => s.endsWith(' arm_smmu_asid_lock'))).toBe(true);
    expect(at[0]!.startsWith('CD')).toBe(true);
    expect(at.at(-1)!.startsWith('STE')).toBe(true);
    expect(t.result).toBe(0);
    expect(master(dev).cd_table.in_ste).toBe(false);
    expect(coreOf(w.kernel).warnings).toEqual([]);
  });

  test('two tasks contending for arm_smmu_asid_lock: the second blocks on the owner and resumes after the unlock', () => {
    const w = smmuWorld([smmuSpec()], [devSpec(0, 0), devSpec(0, 1)]);
    const mm = w.spawn(0);
    const h = bound(sync(mm.kernel, iommu_sva_bind_device(w.devs[0]!, mm)));
    const s = schedOf(w.kernel);
    s.concurrent = true;
    try {
      const a = spawn(w.kernel, 'unbind', 'cpu', arm_smmu_blocking_set_dev_pasid(arm_smmu_ops.blocked_domain, w.devs[0]!, mm.iommu_mm!.pasid, h.domain));
      const b = spawn(w.kernel, 'attach', 'cpu', arm_smmu_attach_dev_sid_domain(master(w.devs[1]!), 'BLOCKED'));
      // A runs until it holds the mutex (its first CD store).
      while (!heldNames(a).includes('arm_smmu_asid_lock')) expect(stepTask(w.kernel, a)).toBeDefined();
      // B passes the acquire's preempt point, then finds the mutex taken.
      let y = stepTask(w.kernel, b);
      expect(y?.what).toBe('mutex_lock(arm_smmu_asid_lock)');
      y = stepTask(w.kernel, b);
      expect(y).toMatchObject({ kind: 'block', what: 'mutex_lock(arm_smmu_asid_lock)' });
      expect(b.runnable()).toBe(false);
      expect(y!.waitsFor!()).toBe(a);
      // A finishes (its RID re-attach retakes the mutex after its own unlock); B is runnable again.
      runTask(w.kernel, a);
      expect(a.result).toBe(0);
      expect(b.runnable()).toBe(true);
      runTask(w.kernel, b, (_y, task) => expect(task.blocked).toBeUndefined());
      expect(b.done).toBe(true);
      expect(master(w.devs[1]!).sid_domain).toBe('BLOCKED');
      expect(w.smmus[0]!.unit.streamTable.fetch(w.devs[1]!.hw.sid)).toMatchObject({ v: true, config: 'abort' });
      expect(coreOf(w.kernel).warnings).toEqual([]);
    } finally {
      s.concurrent = false;
    }
  });
});
