import { describe, expect, test } from 'vitest';
import type { AmdIommuUnit, Dte } from '../../../src/hw/amd/index.js';
import { coreOf } from '../../../src/impl/core/kernel.js';
import { in_atomic, lockdep_held, might_sleep } from '../../../src/impl/core/locking.js';
import { schedOf, spawn, stepTask, type Co } from '../../../src/impl/core/sched.js';
import { amd_iommu_complete_ppr } from '../../../src/impl/amd/cmd.js';
import { dev_update_dte } from '../../../src/impl/amd/gcr3.js';
import { amdIommuDriver, detach_device } from '../../../src/impl/amd/iommu.js';
import { amd_iommu_domain_alloc_sva, amd_iommu_remove_dev_pasid, iommu_sva_set_dev_pasid } from '../../../src/impl/amd/pasid.js';
import { dev_iommu_priv_get } from '../../../src/impl/amd/structs.js';
import { sync } from '../../../src/impl/core/sched.js';
import { createWorld, implStep } from '../../../src/impl/index.js';
import type { Topology } from '../../../src/shared/index.js';

const topology = (ptLevels: 4 | 5 = 4): Topology => ({
  platform: 'amd',
  iommus: [{ pasidBits: 4, didBits: 8, asidBits: 4, rangeInv: true }],
  devices: [{ iommu: 0, group: 0, pasidBits: 20, ats: true, pri: true }],
  mms: 1, pages: 4, kpages: 1, ptLevels,
});

/** Step `co` by hand (no scheduler); call `at` at every yield with its name. Returns the names. */
function stepAll<T>(co: Co<T>, at: (what: string) => void = () => {}): string[] {
  const seen: string[] = [];
  for (let r = co.next(); !r.done; r = co.next()) {
    seen.push(r.value.what);
    at(r.value.what);
  }
  return seen;
}

describe('AMD driver tasks: yield points and locks (amd/iommu.c, pasid.c, v6.19-rc)', () => {
  test('update_dte256 clears V|GV first: between the two 128-bit stores a fetch sees the new lower half and the old upper half', () => {
    const w = createWorld(topology(5), amdIommuDriver);
    const unit = w.iommus[0]!.unit as AmdIommuUnit;
    const dev_data = dev_iommu_priv_get(w.devices[0]!);
    const before = unit.devTable.get(0);
    expect(before).toMatchObject({ v: true, gv: true, gptLevels: 5 });
    const fetched: Record<string, Dte> = {};
    const held: Record<string, readonly string[]> = {};
    const yields = stepAll(dev_update_dte(dev_data, false), (what) => {
      if (what.includes('DTE[')) {
        fetched[what] = unit.devTable.get(0);
        held[what] = lockdep_held(w.kernel);
      }
    });
    const lower = yields.indexOf('write_dte_lower128: DTE[127:0] store');
    const upper = yields.indexOf('write_dte_upper128: DTE[255:128] store');
    expect(lower).toBeGreaterThanOrEqual(0);
    expect(upper).toBeGreaterThan(lower);
    // The torn entry: V set, GV and the GCR3 root gone, guest paging level still the old 5.
    expect(fetched['write_dte_lower128: DTE[127:0] store']).toMatchObject({ v: true, gv: false, gcr3: undefined, gptLevels: 5 });
    expect(fetched['write_dte_upper128: DTE[255:128] store']).toMatchObject({ v: true, gv: false, gptLevels: 4 });
    expect(held['write_dte_lower128: DTE[127:0] store']).toEqual(['&dev_data->dte_lock']);
    expect(lockdep_held(w.kernel)).toEqual([]);
  });

  test('update_dte256 on an invalid entry writes the upper half first: V appears only with the lower store', () => {
    const w = createWorld(topology(5), amdIommuDriver);
    const unit = w.iommus[0]!.unit as AmdIommuUnit;
    const dev_data = dev_iommu_priv_get(w.devices[0]!);
    const full = unit.devTable.get(0);
    unit.devTable.set(0, { ...full, v: false, tv: false, gv: false, gcr3: undefined, gptLevels: 4 });
    let torn: Dte | undefined;
    stepAll(dev_update_dte(dev_data, true), (what) => {
      if (what.startsWith('write_dte_upper128')) torn = unit.devTable.get(0);
    });
    expect(torn).toMatchObject({ v: false, gv: false, gptLevels: 5 });
    // The complete entry fetches as the very object written, as before the split.
    expect(unit.devTable.get(0)).toEqual(full);
  });

  test('&pdom->lock is held across the GCR3 store and its flush; the command tail is written under &iommu->lock', () => {
    const w = createWorld(topology(), amdIommuDriver);
    implStep(w, { kind: 'spawn', mm: 0 });
    const mm = w.mms[0]!;
    const dev = w.devices[0]!;
    const r = sync(w.kernel, amd_iommu_domain_alloc_sva(dev, mm));
    if (!r.ok) throw new Error(`domain_alloc_sva: ${r.errno}`);
    const domain = r.value;
    domain.mm = mm;
    const held: Record<string, readonly string[]> = {};
    let atomicAtPoll = true;
    const yields = stepAll(iommu_sva_set_dev_pasid(domain, dev, 1, undefined), (what) => {
      held[what] ??= lockdep_held(w.kernel);
      if (what.startsWith('wait_on_sem')) atomicAtPoll = in_atomic(w.kernel) && lockdep_held(w.kernel).includes('&iommu->lock');
    });
    expect(yields[0]).toBe('spin_lock(&pdom->lock)');
    expect(held['update_gcr3: *pte store (GCR3 entry)']).toEqual(['&pdom->lock']);
    expect(held['__iommu_queue_command_sync: MMIO_CMD_TAIL write']).toEqual(['&pdom->lock', '&iommu->lock']);
    // wait_on_sem polls after iommu->lock is dropped, still inside pdom->lock.
    expect(held['wait_on_sem: udelay(1) polling iommu->cmd_sem']).toEqual(['&pdom->lock']);
    expect(atomicAtPoll).toBe(false);
    expect(yields.at(-1)).toBe('spin_unlock(&pdom->lock)');
    expect(dev_iommu_priv_get(dev).gcr3_info.gcr3_tbl!.fetch(1)).toEqual({ valid: true, cr3: mm.pgd.pgd });
  });

  test('a sleeping call under &pdom->lock or &iommu->lock splats; outside them it does not', () => {
    const w = createWorld(topology(), amdIommuDriver);
    implStep(w, { kind: 'spawn', mm: 0 });
    const mm = w.mms[0]!;
    const dev = w.devices[0]!;
    const r = sync(w.kernel, amd_iommu_domain_alloc_sva(dev, mm));
    if (!r.ok) throw new Error(`domain_alloc_sva: ${r.errno}`);
    r.value.mm = mm;
    const warnings = coreOf(w.kernel).warnings;
    const n = warnings.length;
    might_sleep(w.kernel, 'outside');
    expect(warnings.length).toBe(n);
    stepAll(iommu_sva_set_dev_pasid(r.value, dev, 1, undefined), (what) => {
      if (what.startsWith('update_gcr3')) might_sleep(w.kernel, 'test: GFP_KERNEL under pdom->lock');
    });
    expect(warnings.slice(n)).toEqual(['BUG: sleeping function called from invalid context at test: GFP_KERNEL under pdom->lock (in_atomic(): 1, holding &pdom->lock)']);
    stepAll(amd_iommu_complete_ppr(dev_iommu_priv_get(dev), 1, 0, 0), (what) => {
      if (what.includes('MMIO_CMD_TAIL')) might_sleep(w.kernel, 'test: mutex under iommu->lock');
    });
    expect(warnings.slice(n + 1)).toEqual(['BUG: sleeping function called from invalid context at test: mutex under iommu->lock (in_atomic(): 1, holding &iommu->lock)']);
  });

  test('two tasks on one SVA domain: the second blocks on &pdom->lock held by the first until it unlocks', () => {
    const w = createWorld(topology(), amdIommuDriver);
    implStep(w, { kind: 'spawn', mm: 0 });
    const mm = w.mms[0]!;
    const dev = w.devices[0]!;
    const r = sync(w.kernel, amd_iommu_domain_alloc_sva(dev, mm));
    if (!r.ok) throw new Error(`domain_alloc_sva: ${r.errno}`);
    r.value.mm = mm;
    const s = schedOf(w.kernel);
    s.concurrent = true;
    try {
      const attach = spawn(w.kernel, 'attach', 'cpu', iommu_sva_set_dev_pasid(r.value, dev, 1, undefined));
      const detach = spawn(w.kernel, 'detach', 'cpu', amd_iommu_remove_dev_pasid(dev, 1, r.value));
      // attach runs to its GCR3 store, inside pdom->lock.
      while (stepTask(w.kernel, attach)?.what !== 'update_gcr3: *pte store (GCR3 entry)') {
        // its earlier yields: the lock's acquire point
      }
      expect(attach.held.map((l) => l.name)).toEqual(['&pdom->lock']);
      stepTask(w.kernel, detach); // the acquire point
      const y = stepTask(w.kernel, detach);
      expect(y).toMatchObject({ kind: 'block', what: 'spin_lock(&pdom->lock)' });
      expect(y!.waitsFor!()).toBe(attach);
      expect(detach.runnable()).toBe(false);
      while (stepTask(w.kernel, attach) !== undefined) {
        // to the end: the attachment is on the list and pdom->lock is free
      }
      expect(attach.result).toBe(0);
      expect(detach.runnable()).toBe(true);
      while (stepTask(w.kernel, detach) !== undefined) {
        // takes the lock, finds the attachment, clears the GCR3 entry
      }
      expect(dev_iommu_priv_get(dev).gcr3_info.gcr3_tbl!.fetch(1)).toEqual({ valid: false, cr3: 0 });
      expect(coreOf(w.kernel).warnings).toEqual([]);
    } finally {
      s.concurrent = false;
    }
  });

  test('detach_device holds &dev_data->mutex throughout and flushes the domain under &pdom->lock, as the C', () => {
    const w = createWorld(topology(), amdIommuDriver);
    const dev_data = dev_iommu_priv_get(w.devices[0]!);
    const domain = dev_data.domain!;
    const held = new Set<string>();
    stepAll(detach_device(dev_data), (what) => {
      if (what.includes('MMIO_CMD_TAIL')) held.add(lockdep_held(w.kernel).join(' > '));
    });
    // update_dte256's flush runs under &dev_data->dte_lock, amd_iommu_update_dte's second one
    // after it is dropped, both outside pdom->lock; the domain's TLB flush inside it; all under
    // the mutex.
    expect([...held]).toEqual([
      '&dev_data->mutex > &dev_data->dte_lock > &iommu->lock', '&dev_data->mutex > &iommu->lock', '&dev_data->mutex > &pdom->lock > &iommu->lock',
    ]);
    expect(domain.dev_list).not.toContain(dev_data);
    expect(dev_data.domain).toBeUndefined();
    expect((w.iommus[0]!.unit as AmdIommuUnit).devTable.get(0)).toMatchObject({ v: true, tv: false, gv: false });
    expect(coreOf(w.kernel).warnings).toEqual([]);
  });
});
