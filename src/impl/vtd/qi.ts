/**
 * Queued invalidation, after drivers/iommu/intel/dmar.c (qi_submit_sync, qi_check_fault,
 * qi_flush_*) and the descriptor builders of iommu.h (qi_desc_*), v6.17. Descriptors are the
 * hardware's tagged union (src/hw/vtd/descriptor.ts); addresses arrive here as u64 bigints.
 */
import type { QiDesc } from '../../hw/vtd/descriptor.js';
import { QI_LENGTH } from '../../hw/vtd/invQueue.js';
import { warn } from '../core/kernel.js';
import { spin_lock, spin_unlock } from '../core/locking.js';
import { type Co, preemptPoint, preempting } from '../core/sched.js';
import { type IntelIommu, WARN_ON } from './dmar.js';

export const VTD_PAGE_SHIFT = 12n;
export const U64 = (1n << 64n) - 1n;
/** npages == -1 (as unsigned long) asks for a PASID-selective invalidation. */
export const NPAGES_ALL = -1n;

/** include/linux/log2.h: __roundup_pow_of_two on u64 (0 rounds to 1, as x86's masked shift does). */
export const roundup_pow_of_two = (n: bigint): bigint => {
  if (n <= 1n) return 1n;
  // By bit length, not a doubling loop: a whole-range flush asks for 2^64 pages.
  const bits = (n - 1n).toString(2).length;
  return bits >= 63 ? 1n << 63n : 1n << BigInt(bits);
};
export const ilog2 = (n: bigint): number => n.toString(2).length - 1;

/** iommu.h: qi_desc_piotlb. A misaligned address is a driver bug (WARN_ON_ONCE) and is aligned down. */
export function qi_desc_piotlb(iommu: IntelIommu, did: number, pasid: number, addr: bigint, npages: bigint, ih: boolean): QiDesc {
  if (npages === NPAGES_ALL) return { kind: 'piotlb', granularity: 'pasid', did, pasid };
  const mask = ilog2(roundup_pow_of_two(npages));
  const align = 1n << (VTD_PAGE_SHIFT + BigInt(mask));
  if (WARN_ON(iommu, addr % align !== 0n, `qi_desc_piotlb: addr ${addr.toString(16)} not aligned to order ${mask}`)) {
    addr -= addr % align;
  }
  return { kind: 'piotlb', granularity: 'page', did, pasid, addr: Number(addr >> VTD_PAGE_SHIFT), am: mask, ih };
}

/**
 * iommu.h: qi_desc_dev_iotlb_pasid. With S=1 the size is encoded in the address's low bits,
 * so the range the device decodes is the naturally aligned block containing `addr` (the
 * kernel only pr_warns about a misaligned address).
 */
export function qi_desc_dev_iotlb_pasid(sid: number, pasid: number, addr: bigint, size_order: number): QiDesc {
  const block = 1n << (VTD_PAGE_SHIFT + BigInt(size_order));
  const base = addr - (addr % block);
  return { kind: 'devtlb', sid, pasid, global: false, addr: Number(base >> VTD_PAGE_SHIFT), sizeOrder: size_order };
}

/**
 * iommu.h: qi_desc_dev_iotlb, the device-TLB invalidation without PASID: it reaches only the
 * translations the device cached for requests without PASID (IOMMU_NO_PASID here).
 */
export function qi_desc_dev_iotlb(sid: number, addr: bigint, mask: number): QiDesc {
  const block = 1n << (VTD_PAGE_SHIFT + BigInt(mask));
  return { kind: 'devtlb', sid, pasid: 0, global: false, addr: Number((addr - (addr % block)) >> VTD_PAGE_SHIFT), sizeOrder: mask };
}

/** iommu.h: qi_desc_iotlb, second-stage (legacy) IOTLB invalidation: DSI or PSI. */
export function qi_desc_iotlb(did: number, addr: bigint, size_order: number, type: 'DSI' | 'PSI'): QiDesc {
  return type === 'DSI'
    ? { kind: 'iotlb_dsi', did }
    : { kind: 'iotlb_psi', did, addr: Number(addr >> VTD_PAGE_SHIFT), am: size_order };
}

/** dmar.c: desc_status values. */
const QI_FREE = 0;
const QI_IN_USE = 1;
const QI_ABORT = 3;

/**
 * One turn of qi_submit_sync's poll loop with q_lock dropped (raw_spin_unlock; cpu_relax();
 * raw_spin_lock): another CPU may take q_lock and queue its own batch here. Real hardware never
 * completes a wait by the first poll (an invalidation takes microseconds, the loop test
 * nanoseconds), so the loop body always runs at least once; the emulated unit completes the
 * wait when the tail is written (InvalidationQueue.submit), so it runs exactly once, and this is
 * where a QI wait yields. The wait itself never blocks: nothing here is left for a hardware task.
 */
const QI_POLL = preemptPoint('qi_submit_sync: cpu_relax() polling desc_status[wait_index]');

/**
 * dmar.c: qi_submit_sync (v7.0-rc5). Under q_lock (raw_spin_lock_irqsave): takes `count` slots
 * and one for the wait from free_head, marks them in use, queues the descriptors and the wait
 * (the IQT write), then polls the wait's status; each turn of the poll first runs
 * qi_check_fault, then drops q_lock for a cpu_relax. On an invalidation time-out (ITE)
 * qi_check_fault clears ITE and, the device that timed out not being present, gives up with
 * -ETIMEDOUT instead of resubmitting (a retry could never complete). The slots are then done
 * and reclaimed. Returns false on -ETIMEDOUT; callers ignore it, as the kernel's do.
 */
export function* qi_submit_sync(iommu: IntelIommu, descs: readonly QiDesc[], options: { drain?: boolean } = {}): Co<boolean> {
  const unit = iommu.unit;
  const qi = iommu.qi;
  yield* spin_lock(qi.q_lock);
  const index = qi.free_head;
  const wait_index = (index + descs.length) % QI_LENGTH;
  for (let i = 0; i <= descs.length; i++) qi.desc_status[(index + i) % QI_LENGTH] = QI_IN_USE;
  qi.free_head = (wait_index + 1) % QI_LENGTH;
  for (const d of descs) unit.submit(d);
  unit.submit({ kind: 'wait', fence: false, drain: options.drain === true });
  // The first poll: the wait is not seen done yet (see QI_POLL), so qi_check_fault runs.
  const ok = !unit.ite || qi_check_fault(iommu) === 0;
  if (ok) {
    yield* spin_unlock(qi.q_lock);
    if (preempting(iommu.kernel)) yield QI_POLL;
    yield* spin_lock(qi.q_lock);
  }
  // QI_DONE (or aborted), then reclaim_free_desc: the slots are free again.
  for (let i = 0; i <= descs.length; i++) qi.desc_status[(index + i) % QI_LENGTH] = QI_FREE;
  yield* spin_unlock(qi.q_lock);
  return ok;
}

/**
 * dmar.c: qi_check_fault, its ITE branch (v7.0-rc5: fe89277c9ceb "Fix intel iommu iotlb sync
 * hardlockup and retry"). From the descriptor before IQH back to the one before IQT, every slot
 * still in use is aborted, so a multi-descriptor batch can be resubmitted whatever its wait's
 * slot. A time-out here always comes from a device that is gone (the only one that cannot
 * answer), and for one that is not present the kernel stops retrying: -ETIMEDOUT.
 */
function qi_check_fault(iommu: IntelIommu): 'ETIMEDOUT' | 0 {
  const unit = iommu.unit;
  const status = iommu.qi.desc_status;
  // B19: before fe89277c9ceb the walk assumed single-descriptor submissions (each wait in an odd
  // slot): it started at head | 1 and stepped by 2, so a wait in an even slot is never reached.
  const b19 = iommu.kernel.fault === 'B19';
  let head = (unit.queue.iqh - 1 + QI_LENGTH) % QI_LENGTH;
  if (b19) head |= 1;
  const tail = (unit.queue.iqt - 1 + QI_LENGTH) % QI_LENGTH;
  unit.clearIte();
  const step = b19 ? 2 : 1;
  let visited = 0;
  do {
    if (status[head] === QI_IN_USE) status[head] = QI_ABORT;
    head = (head - step + QI_LENGTH) % QI_LENGTH;
    // The loop never ends: the NMI watchdog's report is all the machine still does.
    if (++visited > QI_LENGTH) {
      warn(iommu.kernel, `watchdog: Watchdog detected hard LOCKUP on cpu 0: qi_check_fault (${iommu.name}, head ${head} never meets tail ${tail})`);
      break;
    }
  } while (head !== tail);
  iommu.qi_timeouts++;
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, 'qi_submit_sync: ITE, -ETIMEDOUT');
  return 'ETIMEDOUT';
}

/** dmar.c: qi_flush_pasid_cache, PASID-selective-within-domain. */
export function* qi_flush_pasid_cache(iommu: IntelIommu, did: number, pasid: number): Co {
  yield* qi_submit_sync(iommu, [{ kind: 'pc', granularity: 'pasid', did, pasid }]);
}

/** dmar.c: qi_flush_piotlb. */
export function* qi_flush_piotlb(iommu: IntelIommu, did: number, pasid: number, addr: bigint, npages: bigint, ih: boolean): Co {
  yield* qi_submit_sync(iommu, [qi_desc_piotlb(iommu, did, pasid, addr, npages, ih)]);
}

/** dmar.c: qi_flush_iotlb (iommu->flush.flush_iotlb with queued invalidation). */
export function* qi_flush_iotlb(iommu: IntelIommu, did: number, addr: bigint, size_order: number, type: 'DSI' | 'PSI'): Co {
  yield* qi_submit_sync(iommu, [qi_desc_iotlb(did, addr, size_order, type)]);
}

/** dmar.c: qi_flush_dev_iotlb, without PASID. Not sent while translation is disabled (VT-d spec 4.3). */
export function* qi_flush_dev_iotlb(iommu: IntelIommu, sid: number, addr: bigint, mask: number): Co {
  if (!iommu.translation_enabled) return;
  yield* qi_submit_sync(iommu, [qi_desc_dev_iotlb(sid, addr, mask)]);
}

/** dmar.c: qi_flush_dev_iotlb_pasid. Not sent while translation is disabled (VT-d spec 4.3). */
export function* qi_flush_dev_iotlb_pasid(iommu: IntelIommu, sid: number, pasid: number, addr: bigint, size_order: number): Co {
  if (!iommu.translation_enabled) return;
  yield* qi_submit_sync(iommu, [qi_desc_dev_iotlb_pasid(sid, pasid, addr, size_order)]);
}
