/**
 * drivers/iommu/iommu-sva.c (v6.17, plus v6.18's iommu_sva_mms / iommu_sva_invalidate_kva_range).
 * One global mutex (iommu_sva_lock) serialises bind and unbind; the attach under it takes the
 * group's mutex and the driver's locks, and can interleave with anything that takes neither.
 * Not followed: v6.18-rc's x86 stop-gap that fails every bind with -EOPNOTSUPP (72f98ef9a4be),
 * and arch_pgtable_dma_compat (x86 LAM is not modelled).
 */
import { mutex_init, mutex_lock, mutex_unlock, type Mutex } from './locking.js';
import type { Co } from './sched.js';
import type { Errno, Result } from '../../shared/index.js';
import { err, ok } from '../../shared/index.js';
import { iommu_attach_device_pasid, iommu_attach_handle_get, iommu_detach_device_pasid, iommu_domain_free } from './iommu.js';
import { coreOf } from './kernel.js';
import { iommu_sva_iopf_handler } from './iommuSvaFault.js';
import { mmgrab } from './mm.js';
import { mmu_notifier_arch_invalidate_secondary_tlbs } from './mmuNotifier.js';
import { IOMMU_PASID_INVALID, iommu_alloc_global_pasid, iommu_sva_alloc_pasid_v6_4, iommu_sva_free_pasid } from './pasid.js';
import type { Device, IommuDomain, IommuMmData, IommuSva, Kernel, MmStruct } from './types.js';

/**
 * iommu-sva.c: iommu_alloc_mm_data (v6.17): the mm's existing iommu_mm (-EOVERFLOW when its
 * PASID does not fit this device), or a new one with a fresh global PASID. Never rolled back
 * when the bind fails later: the PASID stays with the mm until __mmdrop.
 */
function iommu_alloc_mm_data(mm: MmStruct, dev: Device): IommuMmData | Errno {
  const existing = mm.iommu_mm;
  if (existing !== undefined) return existing.pasid >= dev.max_pasids ? 'EOVERFLOW' : existing;
  if (mm.kernel.shouldFail('kzalloc@iommu_alloc_mm_data')) return 'ENOMEM';
  // B09: before c20ecf7bb615 the allocation let an ida errno through as the PASID (pasid.ts).
  const pasid = mm.kernel.fault === 'B09' ? iommu_sva_alloc_pasid_v6_4(mm.kernel, dev) : iommu_alloc_global_pasid(mm.kernel, dev);
  if (pasid === IOMMU_PASID_INVALID) return 'ENOSPC';
  const iommu_mm: IommuMmData = { pasid, mm, sva_domains: [], freed: false };
  mm.iommu_mm = iommu_mm; // smp_store_release
  mm.kernel.trace?.event('core', 'sva', `mm${mm.slot}: PASID ${pasid}`);
  return iommu_mm;
}

/**
 * iommu-sva.c: iommu_sva_domain_alloc (v6.17): the driver allocates (and registers its mmu
 * notifier); the core pins the mm (mmgrab) and sets domain->mm. The 'domain' fault-injection
 * site is the driver's own kzalloc, checked inside ops->domain_alloc_sva after the driver's
 * capability checks (intel_svm_domain_alloc tests intel_iommu_sva_supported first).
 */
function* iommu_sva_domain_alloc(dev: Device, mm: MmStruct): Co<Result<IommuDomain>> {
  const ops = dev.iommu.ops;
  const r = yield* ops.domain_alloc_sva(dev, mm);
  if (!r.ok) return r;
  const domain = r.value;
  mmgrab(mm);
  domain.mm = mm;
  domain.iopf_handler = iommu_sva_iopf_handler;
  coreOf(mm.kernel).live.domains.add(domain);
  mm.kernel.trace?.event('core', 'sva', `domain ${domain.id} allocated for mm${mm.slot} (${ops.name})`);
  return r;
}

function kfree_handle(kernel: Kernel, handle: IommuSva, by: NonNullable<IommuSva['freedBy']>): void {
  handle.freed = true;
  handle.freedBy = by;
  coreOf(kernel).live.handles.delete(handle);
}

/**
 * iommu-sva.c: iommu_sva_bind_device (v6.17). The caller holds mm_users. A second bind of the
 * same (group, PASID) shares the handle (users++; -EBUSY if it belongs to another mm). Else a
 * new handle is attached with the first of the mm's SVA domains that accepts the device (any
 * attach error moves on), or with a newly allocated domain.
 */
/** iommu-sva.c: static DEFINE_MUTEX(iommu_sva_lock), one per world. */
const svaLocks = new WeakMap<Kernel, Mutex>();
function iommu_sva_lock(kernel: Kernel): Mutex {
  let m = svaLocks.get(kernel);
  if (m === undefined) svaLocks.set(kernel, (m = mutex_init(kernel, 'iommu_sva_lock')));
  return m;
}

export function* iommu_sva_bind_device(dev: Device, mm: MmStruct): Co<Result<IommuSva>> {
  const lock = iommu_sva_lock(mm.kernel);
  yield* mutex_lock(lock);
  const r = yield* bind_locked(dev, mm);
  yield* mutex_unlock(lock);
  // handle->dev = dev comes after the unlock in the C; the locked body set it already, which
  // nothing can tell apart: the handle is not reachable by another bind before the store.
  return r;
}

/** iommu_sva_bind_device's body under iommu_sva_lock (its out_unlock ladder returns through here). */
function* bind_locked(dev: Device, mm: MmStruct): Co<Result<IommuSva>> {
  const kernel = mm.kernel;
  const iommu_mm = iommu_alloc_mm_data(mm, dev);
  if (typeof iommu_mm === 'string') return err(iommu_mm);

  // B08: 092edaddb660 (v6.8-rc1, "iommu: Support mm PASID 1:n with sva domains") bound without
  // looking for a bond: every bind kzalloc'd a new handle and tried the domains, whose attach
  // then found the group's PASID slot taken (xa_insert: -EBUSY). 65d4418c5002 (v6.8-rc5)
  // restored the sharing; today it is this lookup.
  const existing = kernel.fault === 'B08' ? 'ENOENT' : iommu_attach_handle_get(dev.group, iommu_mm.pasid, 'SVA');
  if (typeof existing !== 'string') {
    if (existing.domain.mm !== mm) return err('EBUSY');
    existing.users++;
    kernel.trace?.event('core', 'sva', `bind dev${dev.id} mm${mm.slot}: handle ${existing.id} users ${existing.users}`);
    return ok(existing);
  }
  if (existing !== 'ENOENT') return err(existing);

  if (kernel.shouldFail('kzalloc@iommu_sva_bind_device')) return err('ENOMEM');
  // kzalloc'd: handle.domain is set by the attach that succeeds.
  const handle: IommuSva = { id: kernel.nextId('handle'), domain: dev.iommu.ops.blocked_domain, dev: undefined, users: 0, freed: false };
  coreOf(kernel).live.handles.add(handle);

  let attached: IommuDomain | undefined;
  for (const domain of iommu_mm.sva_domains) {
    if ((yield* iommu_attach_device_pasid(domain, dev, iommu_mm.pasid, handle)) === 0) {
      domain.users++;
      attached = domain;
      break;
    }
  }
  if (attached === undefined) {
    const r = yield* iommu_sva_domain_alloc(dev, mm);
    if (!r.ok) {
      kfree_handle(kernel, handle, 'iommu_sva_bind_device');
      return err(r.errno);
    }
    const domain = r.value;
    const ret = yield* iommu_attach_device_pasid(domain, dev, iommu_mm.pasid, handle);
    if (ret !== 0) {
      yield* iommu_domain_free(domain);
      kfree_handle(kernel, handle, 'iommu_sva_bind_device');
      return err(ret);
    }
    domain.users = 1;
    const sva = coreOf(kernel).sva;
    if (iommu_mm.sva_domains.length === 0) {
      if (sva.mms.length === 0) sva.present = true;
      sva.mms.unshift(iommu_mm);
    }
    iommu_mm.sva_domains.unshift(domain);
    attached = domain;
  }
  handle.users = 1;
  handle.dev = dev;
  kernel.trace?.event('core', 'sva', `bind dev${dev.id} mm${mm.slot}: handle ${handle.id}, domain ${attached.id} users ${attached.users}`);
  return ok(handle);
}

/**
 * iommu-sva.c: iommu_sva_unbind_device (v7.0-rc5: 06e14c36e20b "Fix crash in
 * iommu_sva_unbind_device()"). The domain pins mm_count, so domain->mm and its iommu_mm are
 * valid even after the process exited, but only until iommu_domain_free's mmdrop: the
 * iommu_sva_mms bookkeeping is done before the free. (Before the fix it came after; here the
 * notifier's own mmgrab, dropped only after the SRCU grace period, always outlives that mmdrop,
 * so the old order never touched freed memory: no fault for it.) Only the last reference
 * detaches (through the blocking domain); the last attachment of a domain frees it.
 */
export function* iommu_sva_unbind_device(handle: IommuSva): Co {
  const domain = handle.domain;
  const mm = domain.mm!;
  const iommu_mm = mm.iommu_mm!;
  const dev = handle.dev!;
  const kernel = mm.kernel;
  const lock = iommu_sva_lock(kernel);
  yield* mutex_lock(lock);
  if (--handle.users > 0) {
    kernel.trace?.event('core', 'sva', `unbind dev${dev.id} mm${mm.slot}: handle ${handle.id} users ${handle.users}`);
    yield* mutex_unlock(lock);
    return;
  }
  yield* iommu_detach_device_pasid(domain, dev, iommu_mm.pasid);
  if (--domain.users === 0) {
    iommu_mm.sva_domains.splice(iommu_mm.sva_domains.indexOf(domain), 1);
    const sva = coreOf(kernel).sva;
    if (iommu_mm.sva_domains.length === 0) {
      sva.mms.splice(sva.mms.indexOf(iommu_mm), 1);
      if (sva.mms.length === 0) sva.present = false;
      if (kernel.fault === 'B02' || kernel.fault === 'B04') unbind_last_pasid_ref_v5(mm, kernel.fault);
    }
    yield* iommu_domain_free(domain);
  }
  kernel.trace?.event('core', 'sva', `unbind dev${dev.id} mm${mm.slot}: handle ${handle.id} freed, domain ${domain.id} users ${domain.users}`);
  yield* mutex_unlock(lock);
  kfree_handle(kernel, handle, 'iommu_sva_unbind_device');
}

/**
 * B02/B04 only: the mm's last unbind in the v5.1x drivers, where the PASID lived as long as the
 * binds (the old intel_svm_unbind_mm's `list_empty(&svm->devs)` branch; today: the mm's last
 * SVA domain left). Nothing of it remains in v6.17, where the PASID stays until __mmdrop.
 * - B02 (fixed by 701fac40384f, v5.18): iommu_sva_free_pasid: the PASID goes back to the IDA
 *   now, while the mm lives and its tasks may still hold it in the PASID MSR (ENQCMD).
 * - B04 (fixed by a21518cb23a3, v5.15-rc1): load_pasid(mm, PASID_DISABLED) cleared mm->pasid
 *   first, so the free read 0 and freed nothing. Today the free is mm_pasid_drop at __mmdrop,
 *   which reads the same cleared field (mm->iommu_mm): the PASID and its iommu_mm leak.
 */
function unbind_last_pasid_ref_v5(mm: MmStruct, fault: 'B02' | 'B04'): void {
  if (fault === 'B04') {
    mm.iommu_mm = undefined; // load_pasid(mm, PASID_DISABLED)
    mm.kernel.trace?.event('core', 'sva', `load_pasid mm${mm.slot}: PASID cleared`);
  }
  iommu_sva_free_pasid(mm); // intel_svm_free_pasid(mm)
}

/** iommu-sva.c: iommu_sva_get_pasid (v6.17): mm_get_enqcmd_pasid(domain->mm). */
export function iommu_sva_get_pasid(handle: IommuSva): number {
  return handle.domain.mm?.iommu_mm?.pasid ?? IOMMU_PASID_INVALID;
}

/**
 * iommu-sva.c: iommu_sva_invalidate_kva_range (v6.18, CVE-2025-71202 fix): run the
 * secondary-TLB hook of every mm with an SVA domain, for a kernel address range.
 */
export function* iommu_sva_invalidate_kva_range(kernel: Kernel, start: bigint, end: bigint): Co {
  const sva = coreOf(kernel).sva;
  if (!sva.present) return;
  for (const iommu_mm of sva.mms) yield* mmu_notifier_arch_invalidate_secondary_tlbs(iommu_mm.mm, start, end);
}
