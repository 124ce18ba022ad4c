/**
 * The page request queue, after drivers/iommu/intel/prq.c (v7.0-rc5): the PRQ interrupt thread
 * reporting each page request to the IOPF core (with or without a PASID) and recovering from an
 * overflow, the page group response, and the PASID drain that ends a PASID teardown (pasid.c).
 */
import { sync, type Co } from '../core/sched.js';
import type { PageRequest } from '../../hw/vtd/prq.js';
import {
  IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID,
  IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE, type IommuPageResponse, type IopfFault,
  iopf_counts, iopf_queue_alloc, iopf_queue_discard_dev_pasid, iopf_queue_discard_partial, iommu_report_device_fault, iopf_queue_flush_dev,
} from '../core/iopf.js';
import { noteFinding } from '../core/kernel.js';
import { mutex_lock, mutex_unlock, run_waited } from '../core/lockdep.js';
import type { Device } from '../core/types.js';
import { FLPT_DEFAULT_DID, type IntelIommu, WARN_ON, dev_iommu_priv_get } from './dmar.js';
import { NPAGES_ALL, qi_desc_dev_iotlb_pasid, qi_desc_piotlb, qi_submit_sync } from './qi.js';

/** prq.c: prq_to_iommu_prot: the request's R/W bits (no execute or privileged requests here). */
const prq_to_iommu_prot = (req: PageRequest): number => IOMMU_FAULT_PERM_READ | (req.write ? IOMMU_FAULT_PERM_WRITE : 0);

/** prq.c: handle_bad_prq_event: a request nobody can handle gets INVALID if it ends its group. */
function handle_bad_prq_event(iommu: IntelIommu, req: PageRequest): void {
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `invalid page request sid=${req.sid} pasid=${req.pasid}`);
  if (!req.lpig) return;
  qi_submit_sync(iommu, [{ kind: 'prs', sid: req.sid, pasid: req.pasid, pasidPresent: req.pasidPresent, prgi: req.prgi, code: 'invalid', lpig: req.lpig }]);
}

/**
 * prq.c: intel_prq_report (v7.0-rc5): the descriptor as an iopf_fault; a PASID-tagged request
 * is PASID_VALID | NEEDS_PASID, one on the RID has neither (since the pasid-present check left
 * prq_event_thread, such requests reach the IOPF core).
 */
function intel_prq_report(iommu: IntelIommu, dev: Device, req: PageRequest): void {
  let flags = 0;
  if (req.pasidPresent) flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID | IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID;
  if (req.lpig) flags |= IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
  const evt: IopfFault = { prm: { flags, pasid: req.pasid, grpid: req.prgi, perm: prq_to_iommu_prot(req), addr: BigInt(req.vpn) << 12n } };
  sync(iommu.kernel, iommu_report_device_fault(iommu.kernel, dev, evt)); // BRIDGE(core): prq_event_thread is not a generator yet
}

/**
 * prq.c: prq_event_thread (v7.0-rc5): read every descriptor between head and tail, report each
 * to the IOPF core (a source id no device owns is a bad request), advance the head. Then, if
 * the hardware reports an overflow (DMA_PRS_PRO), and only once head == tail, the partial
 * requests of every device on the queue are discarded (their LAST may be among the dropped)
 * and PRO is cleared.
 */
export function prq_event_thread(iommu: IntelIommu): void {
  const prq = iommu.unit.prq;
  for (const req of prq.consumeAll()) {
    // Canonical address, privileged and execute requests are never generated here.
    const dev = iommu.device_rbtree.get(req.sid);
    if (dev === undefined) {
      handle_bad_prq_event(iommu, req);
      continue;
    }
    intel_prq_report(iommu, dev, req);
  }
  if (!prq.overflow) return;
  iopf_counts(iommu.kernel).overflows++;
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, 'PRQ overflow detected');
  // Tail re-read: nothing arrives while this thread runs here, so head == tail holds.
  if (prq.pending.length === 0) {
    if (iommu.iopf_queue !== undefined) iopf_queue_discard_partial(iommu.iopf_queue);
    prq.overflow = false; // writel(DMA_PRS_PRO, DMAR_PRS_REG): RW1C
  }
}

/** prq.c: intel_iommu_enable_prq (v6.17): the PRQ's fault queue; its IRQ thread is prq_event_thread. */
export function intel_iommu_enable_prq(iommu: IntelIommu): void {
  iommu.iopf_queue = iopf_queue_alloc(iommu.kernel, `dmar${iommu.index}-iopfq`, () => prq_event_thread(iommu));
}

/**
 * prq.c: intel_iommu_page_response (v7.0-rc5): a page group response descriptor, synchronously;
 * it carries the PASID (PASID_P) when the request did, and the request's LPIG.
 */
export function* intel_iommu_page_response(dev: Device, evt: IopfFault, msg: IommuPageResponse): Co {
  const info = dev_iommu_priv_get(dev);
  const prm = evt.prm;
  const kernel = info.iommu.kernel;
  if (kernel.fault === 'B05') {
    // Before 6ef0505158f7 (v5.15-rc1): svm.c's intel_svm_page_response ran under pasid_mutex,
    // which intel_svm_unbind_mm held across the PRQ drain that waits for this very work.
    mutex_lock(kernel, PASID_MUTEX);
  }
  qi_submit_sync(info.iommu, [{
    kind: 'prs', sid: info.sid, pasid: prm.pasid, prgi: prm.grpid, code: msg.code,
    pasidPresent: (prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) !== 0,
    lpig: (prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) !== 0,
  }]);
  if (kernel.fault === 'B05') mutex_unlock(kernel, PASID_MUTEX);
}

/** svm.c (to v6.1): the driver-global pasid_mutex of the old SVM bind/unbind code. */
export const PASID_MUTEX = 'pasid_mutex';

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
 * It waits until the PRQ holds no request of (sid, pasid): the PRQ interrupt thread is taken
 * to have run by now (a legal interleaving: it runs whenever requests are pending), so every
 * request in the ring is reported. Then iopf_queue_flush_dev runs the IOPF work, and the
 * hardware is drained as VT-d spec 7.10 says: a fenced wait, a PASID-selective P_IOTLB and a
 * full PASID devTLB invalidation, submitted with a page-request-drain wait, repeated while the
 * PRQ reports an overflow.
 */
export function intel_iommu_drain_pasid_prq(dev: Device, pasid: number): void {
  const info = dev_iommu_priv_get(dev);
  if (info.iopf_refcount === 0) return;
  const iommu = info.iommu;
  const did = FLPT_DEFAULT_DID; // info.domain is the RID domain; SVA devices have none
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `drain prq ${dev.hw.name} pasid=${pasid}`);
  if (iommu.unit.prq.pending.length > 0) iopf_counts(iommu.kernel).drainsWithQueued++;
  // wait_for_completion(&iommu->prq_complete): the PRQ thread runs, and this task waits for it.
  const thread = (): void => prq_event_thread(iommu);
  const irq = `irq/${iommu.name}-prq`;
  run_waited(iommu.kernel, irq, 'intel_iommu_drain_pasid_prq', thread);
  while (iommu.unit.prq.hasPending(info.sid, pasid)) run_waited(iommu.kernel, irq, 'intel_iommu_drain_pasid_prq', thread);
  WARN_ON(iommu, sync(iommu.kernel, iopf_queue_flush_dev(dev)) !== 0, /* BRIDGE(core) */ `iopf_queue_flush_dev: ${dev.hw.name} has no fault queue`);
  iopf_queue_discard_dev_pasid(iommu.kernel, dev, pasid); // finding iopf-stale-partial: mainline has no such step
  const descs = [
    { kind: 'wait', fence: true, drain: false } as const,
    qi_desc_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false),
    qi_desc_dev_iotlb_pasid(info.sid, pasid, 0n, 52),
  ];
  // desc[2] goes out even to a device that is gone (a surprise-removed PRI device whose driver's
  // remove unbinds): it can never complete (finding vtd-drain-devtlb-absent). The proposed fix
  // leaves it out as devtlb_invalidation_with_pasid does since 10e60d878139.
  if (!pci_device_is_present(dev)) {
    if (iommu.kernel.fixes.has('vtd-drain-devtlb-absent')) descs.pop();
    else noteFinding(iommu.kernel, 'vtd-drain-devtlb-absent');
  }
  for (;;) {
    qi_submit_sync(iommu, descs, { drain: true });
    if (!iommu.unit.prq.overflow) return;
    run_waited(iommu.kernel, irq, 'intel_iommu_drain_pasid_prq', thread);
  }
}

