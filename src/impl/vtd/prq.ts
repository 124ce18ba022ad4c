/**
 * The page request queue, after drivers/iommu/intel/prq.c (v7.0-rc5): the PRQ interrupt thread
 * reporting each page request to the IOPF core (with or without a PASID) and recovering from an
 * overflow, the page group response, and the PASID drain that ends a PASID teardown (pasid.c).
 */
import { type Co, type Task, spawn, wait } from '../core/sched.js';
import { type Mutex, complete, might_sleep, mutex_init, mutex_lock, mutex_unlock, reinit_completion, wait_for_completion } from '../core/locking.js';
import type { PageRequest } from '../../hw/vtd/prq.js';
import {
  IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID,
  IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE, type IommuPageResponse, type IopfFault,
  iopf_counts, iopf_queue_alloc, iopf_queue_discard_dev_pasid, iopf_queue_discard_partial, iommu_report_device_fault, iopf_queue_flush_dev,
} from '../core/iopf.js';
import { noteFinding } from '../core/kernel.js';
import type { Device, Kernel } from '../core/types.js';
import { type DeviceDomainInfo, FLPT_DEFAULT_DID, IOMMU_NO_PASID, type IntelIommu, WARN_ON, dev_iommu_priv_get } from './dmar.js';
import { domain_id_iommu } from './cache.js';
import { NPAGES_ALL, qi_desc_dev_iotlb, qi_desc_dev_iotlb_pasid, qi_desc_iotlb, qi_desc_piotlb, qi_submit_sync } from './qi.js';
import { MAX_AGAW_PFN_WIDTH } from '../../hw/vtd/descriptor.js';

/** prq.c: prq_to_iommu_prot: the request's R/W bits (no execute or privileged requests here; `read` absent is R set). */
const prq_to_iommu_prot = (req: PageRequest): number =>
  (req.read !== false ? IOMMU_FAULT_PERM_READ : 0) | (req.write ? IOMMU_FAULT_PERM_WRITE : 0);

/** prq.c: handle_bad_prq_event: a request nobody can handle gets INVALID if it ends its group. */
function* handle_bad_prq_event(iommu: IntelIommu, req: PageRequest): Co {
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `invalid page request sid=${req.sid} pasid=${req.pasid}`);
  if (!req.lpig) return;
  yield* qi_submit_sync(iommu, [{ kind: 'prs', sid: req.sid, pasid: req.pasid, pasidPresent: req.pasidPresent, prgi: req.prgi, code: 'invalid', lpig: req.lpig }]);
}

/**
 * prq.c: intel_prq_report (v7.0-rc5): the descriptor as an iopf_fault; a PASID-tagged request
 * is PASID_VALID | NEEDS_PASID, one on the RID has neither (since the pasid-present check left
 * prq_event_thread, such requests reach the IOPF core).
 */
function* intel_prq_report(iommu: IntelIommu, dev: Device, req: PageRequest): Co {
  let flags = 0;
  if (req.pasidPresent) flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID | IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
  if (req.lpig) flags |= IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
  const evt: IopfFault = { prm: { flags, pasid: req.pasid, grpid: req.prgi, perm: prq_to_iommu_prot(req), addr: BigInt(req.vpn) << 12n } };
  yield* iommu_report_device_fault(iommu.kernel, dev, evt);
}

/**
 * prq.c: prq_event_thread (v7.0-rc5): read the tail, then every descriptor between head and
 * that tail is reported to the IOPF core under &iommu->iopf_lock (a source id no device owns is
 * a bad request; a Stop Marker, LPIG with neither RD_REQ nor WR_REQ, is dropped before the
 * device lookup, unanswered: da8669ff41fa), and the head is written back to the tail read
 * (requests that arrived since stay queued: their interrupt runs the thread again). Then, if the hardware reports an
 * overflow (DMA_PRS_PRO), and only once head == tail, the partial requests of every device on
 * the queue are discarded (their LAST may be among the dropped) and PRO is cleared. Last, every
 * waiter on prq_complete is woken.
 */
export function* prq_event_thread(iommu: IntelIommu): Co {
  const prq = iommu.unit.prq;
  // writel(DMA_PRS_PPR) then the tail and head reads: these requests, in ring order.
  const tail = prq.pending.length;
  const reqs = prq.pending.slice(0, tail);
  for (const req of reqs) {
    // Canonical address, privileged and execute requests are never generated here.
    // "Drop Stop Marker message. No need for a response." (goto prq_advance). Before
    // da8669ff41fa (B52) the check did not exist: the marker was reported as a page request.
    if (req.lpig && req.read === false && !req.write && iommu.kernel.fault !== 'B52') {
      if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `stop marker sid=${req.sid} pasid=${req.pasid} dropped`);
      continue;
    }
    yield* mutex_lock(iommu.iopf_lock);
    const dev = iommu.device_rbtree.get(req.sid);
    if (dev === undefined) {
      yield* mutex_unlock(iommu.iopf_lock);
      yield* handle_bad_prq_event(iommu, req);
      continue;
    }
    yield* intel_prq_report(iommu, dev, req);
    yield* mutex_unlock(iommu.iopf_lock);
  }
  prq.advance(tail); // dmar_writeq(DMAR_PQH_REG, tail)
  if (prq.overflow) {
    iopf_counts(iommu.kernel).overflows++;
    if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, 'PRQ overflow detected');
    if (prq.pending.length === 0) {
      if (iommu.iopf_queue !== undefined) yield* iopf_queue_discard_partial(iommu.iopf_queue);
      prq.overflow = false; // writel(DMA_PRS_PRO, DMAR_PRS_REG): RW1C
    }
  }
  // if (!completion_done(&iommu->prq_complete)) complete(&iommu->prq_complete)
  if (iommu.prq_complete.done === 0) complete(iommu.prq_complete);
}

/**
 * kernel/irq/manage.c: irq_thread for prq_event_thread (IRQF_ONESHOT): while the interrupt
 * marked the thread to run (IRQTF_RUNTHREAD), clear the mark and run the handler; a request that
 * arrives while the handler runs marks it again.
 */
function* prq_irq_thread(iommu: IntelIommu): Co {
  while (iommu.prq_rerun) {
    iommu.prq_rerun = false;
    yield* prq_event_thread(iommu);
  }
  iommu.prq_thread = undefined;
}

/**
 * kernel/irq/manage.c: irq_wake_thread: mark the PRQ thread to run, and start it if it is not
 * running. Returns the thread's task.
 */
function prq_wake_thread(iommu: IntelIommu): Task {
  iommu.prq_rerun = true;
  if (iommu.prq_thread !== undefined) return iommu.prq_thread;
  return (iommu.prq_thread = spawn(iommu.kernel, `irq/${iommu.name}-prq`, 'irq', prq_irq_thread(iommu)));
}

/**
 * The PRQ interrupt (PPR set by a queued page request). While the thread runs, the interrupt
 * marks it to run again (IRQTF_RUNTHREAD: the new request is reported before it sleeps). While it
 * does not, the wake-up is deferred: the thread runs when the harness gives the fault machinery
 * CPU time (serviceFaults) or a teardown's drain waits for it, in a group as an 'irq' task.
 * That is the spec's model (src/spec/pri.ts: a queued request waits for serviceFaults or a
 * drain), and the order of the sequential traces; a thread started by every request in every
 * group would answer requests the spec keeps queued (an I-PRI-ONCE mismatch in 1-3 runs of
 * `run --groups 0.15`), which is no kernel behaviour the oracle can judge yet.
 */
function prq_interrupt(iommu: IntelIommu): void {
  if (iommu.prq_thread !== undefined) iommu.prq_rerun = true;
}

/**
 * The thread the pending requests are waiting for: the running one, or the one their interrupt
 * woke (a request queued while no group ran has not had its thread run yet).
 */
const prq_thread_for_waiter = (iommu: IntelIommu): Task => iommu.prq_thread ?? prq_wake_thread(iommu);

/**
 * The PRQ thread run for the IOPF core's fault-IRQ hook (serviceFaults): woken and waited for,
 * so there is one PRQ thread whoever wakes it.
 */
function* prq_run_thread(iommu: IntelIommu): Co<boolean> {
  const thread = prq_wake_thread(iommu);
  return (yield* wait(iommu.kernel, `the ${thread.name} thread`, () => thread.done || thread.parked, () => thread)) && thread.done;
}

/** prq.c: intel_iommu_enable_prq (v6.17): the PRQ's fault queue, its threaded IRQ (prq_event_thread) and prq_complete. */
export function intel_iommu_enable_prq(iommu: IntelIommu): void {
  iommu.iopf_queue = iopf_queue_alloc(iommu.kernel, `dmar${iommu.index}-iopfq`, function* () {
    yield* prq_run_thread(iommu);
  });
  iommu.unit.prqInterrupt = () => prq_interrupt(iommu);
}

/**
 * B05 and R01: svm.c (to v5.15-rc1)'s driver-global pasid_mutex (DEFINE_MUTEX), which
 * intel_svm_unbind held across the teardown and intel_svm_drain_prq, and which
 * intel_svm_page_response took. Mainline has none: svm.c lost it with the SVA rework (v6.x);
 * v7.0-rc5's svm.c, prq.c and iommu.c take no such lock.
 */
const pasidMutexes = new WeakMap<Kernel, Mutex>();
export const pasid_mutex = (kernel: Kernel): Mutex => {
  let m = pasidMutexes.get(kernel);
  if (m === undefined) pasidMutexes.set(kernel, (m = mutex_init(kernel, 'pasid_mutex')));
  return m;
};

/** The pre-6ef0505158f7 locking is on: B05 (caught sequentially) or R01 (its two-thread race). */
export const pasid_mutex_held_across_drain = (kernel: Kernel): boolean => kernel.fault === 'B05' || kernel.fault === 'R01';

/**
 * prq.c: intel_iommu_page_response (v7.0-rc5): a page group response descriptor, synchronously;
 * it carries the PASID (PASID_P) when the request did, and the request's LPIG.
 */
export function* intel_iommu_page_response(dev: Device, evt: IopfFault, msg: IommuPageResponse): Co {
  const info = dev_iommu_priv_get(dev);
  const prm = evt.prm;
  const kernel = info.iommu.kernel;
  // Before 6ef0505158f7 (v5.15-rc1): svm.c's intel_svm_page_response ran under pasid_mutex,
  // which intel_svm_unbind held across the PRQ drain that waits for this very work.
  const old = pasid_mutex_held_across_drain(kernel);
  if (old) yield* mutex_lock(pasid_mutex(kernel));
  yield* qi_submit_sync(info.iommu, [{
    kind: 'prs', sid: info.sid, pasid: prm.pasid, prgi: prm.grpid, code: msg.code,
    pasidPresent: (prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) !== 0,
    lpig: (prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) !== 0,
  }]);
  if (old) yield* mutex_unlock(pasid_mutex(kernel));
}

/**
 * drivers/pci/pci.c: pci_device_is_present: a config read of the vendor id; false once the
 * link is down (the endpoint is physically gone), whether or not hotplug has noticed.
 */
export const pci_device_is_present = (dev: Device): boolean => !dev.hw.disconnected;

/**
 * prq.c: intel_iommu_drain_pasid_prq (v7.0-rc5; the match by RID and PASID is add43c4fbc92's:
 * PageRequestQueue.hasPending). "Supposed to be called after the device driver
 * has stopped DMA, the pasid entry has been cleared, and both IOTLB and DevTLB have been
 * invalidated." Only a device on the IOMMU's iopf queue (iopf_refcount > 0, i.e. PRI enabled)
 * can have page requests, so any other device returns at once.
 *
 * prq_retry: reinit_completion(&iommu->prq_complete), then while a request of (sid, pasid) is
 * between head and tail, wait_for_completion (the PRQ thread completes it once it has written
 * the head back) and look again. Then iopf_queue_flush_dev waits for the IOPF work, and the
 * hardware is drained as VT-d spec 7.10 says: a fenced wait, a PASID-selective P_IOTLB and a
 * full PASID devTLB invalidation (for the RID, IOMMU_NO_PASID: a domain-selective IOTLB and a
 * full devTLB invalidation without PASID), submitted with a page-request-drain wait, repeated
 * (after waiting for the thread again) while the PRQ reports an overflow. A wait that can never end
 * (a deadlock, reported) ends the drain there.
 */
export function* intel_iommu_drain_pasid_prq(dev: Device, pasid: number): Co {
  const info = dev_iommu_priv_get(dev);
  if (info.iopf_refcount === 0) return;
  // The proposed fix of finding vtd-drain-completion-race: one drain at a time per IOMMU, so no
  // drain's reinit_completion takes the completion another drain's waiter was woken for.
  const serialized = info.iommu.kernel.fixes.has('vtd-drain-completion-race');
  if (serialized) yield* mutex_lock(info.iommu.prq_drain_lock);
  try {
    yield* drain_pasid_prq(dev, pasid, info);
  } finally {
    if (serialized) yield* mutex_unlock(info.iommu.prq_drain_lock);
  }
}

/** prq.c: reinit_completion(&iommu->prq_complete), at prq_retry and qi_retry. */
const reinit_prq_complete = (iommu: IntelIommu): void => {
  // Two drains on one IOMMU (two groups' teardowns) share the completion: the PRQ thread's one
  // complete() woke the other's waiter, and this reinit takes it away before it looks.
  if (reinit_completion(iommu.prq_complete)) noteFinding(iommu.kernel, 'vtd-drain-completion-race');
};

function* drain_pasid_prq(dev: Device, pasid: number, info: DeviceDomainInfo): Co {
  const iommu = info.iommu;
  const kernel = iommu.kernel;
  const did = info.domain !== undefined ? domain_id_iommu(info.domain, iommu) : FLPT_DEFAULT_DID;
  if (kernel.trace) kernel.trace.event('driver', iommu.name, `drain prq ${dev.hw.name} pasid=${pasid}`);
  const prq = iommu.unit.prq;
  if (prq.pending.length > 0) iopf_counts(kernel).drainsWithQueued++;
  // Requests queued while no group ran have not had their thread run yet (prq_interrupt); in
  // the kernel their interrupt ran it before this drain could start. It runs now, first.
  if (iommu.prq_thread === undefined && (prq.pending.length > 0 || prq.overflow)) {
    // The kernel's scan below would wait for the thread here: it may sleep.
    if (prq.hasPending(info.sid, pasid)) might_sleep(kernel, `wait_for_completion(${iommu.prq_complete.name})`);
    if (!(yield* prq_run_thread(iommu))) return;
  }
  for (;;) {
    reinit_prq_complete(iommu);
    if (!prq.hasPending(info.sid, pasid)) break;
    const thread = prq_thread_for_waiter(iommu);
    if (!(yield* wait_for_completion(kernel, iommu.prq_complete, () => (thread.done ? iommu.prq_thread : thread)))) return;
  }
  WARN_ON(iommu, (yield* iopf_queue_flush_dev(dev)) !== 0, `iopf_queue_flush_dev: ${dev.hw.name} has no fault queue`);
  iopf_queue_discard_dev_pasid(kernel, dev, pasid); // finding iopf-stale-partial: mainline has no such step
  const rid = pasid === IOMMU_NO_PASID;
  const descs = [
    { kind: 'wait', fence: true, drain: false } as const,
    rid ? qi_desc_iotlb(did, 0n, 0, 'DSI') : qi_desc_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false),
    rid ? qi_desc_dev_iotlb(info.sid, 0n, MAX_AGAW_PFN_WIDTH) : qi_desc_dev_iotlb_pasid(info.sid, pasid, 0n, MAX_AGAW_PFN_WIDTH),
  ];
  // desc[2] goes out even to a device that is gone (a surprise-removed PRI device whose driver's
  // remove unbinds): it can never complete (finding vtd-drain-devtlb-absent). The proposed fix
  // leaves it out as devtlb_invalidation_with_pasid does since 10e60d878139.
  if (!pci_device_is_present(dev)) {
    if (kernel.fixes.has('vtd-drain-devtlb-absent')) descs.pop();
    else noteFinding(kernel, 'vtd-drain-devtlb-absent');
  }
  for (;;) {
    reinit_prq_complete(iommu); // qi_retry
    yield* qi_submit_sync(iommu, descs, { drain: true });
    if (!prq.overflow) return;
    const thread = prq_thread_for_waiter(iommu);
    if (!(yield* wait_for_completion(kernel, iommu.prq_complete, () => (thread.done ? iommu.prq_thread : thread)))) return;
  }
}
