/**
 * Page request draining, after drivers/iommu/intel/prq.c (v6.17). The page request queue is
 * the hardware's (src/hw/vtd/prq.ts); servicing requests (IOPF) is a later issue, so for now
 * the queue stays empty and prq_event_thread only consumes what is there.
 */
import type { Device } from '../core/types.js';
import { FLPT_DEFAULT_DID, type IntelIommu, dev_iommu_priv_get } from './dmar.js';
import { NPAGES_ALL, qi_desc_dev_iotlb_pasid, qi_desc_piotlb, qi_submit_sync } from './qi.js';

/**
 * prq.c: prq_event_thread, reduced: reads every pending request and advances the head.
 * Reporting them to the IOPF queue (iommu_report_device_fault) comes with the PRI issue.
 */
export function prq_event_thread(iommu: IntelIommu): void {
  iommu.unit.prq.consumeAll();
  // head == tail: the overflow condition can be cleared (DMA_PRS_PRO).
  iommu.unit.prq.overflow = false;
}

/**
 * prq.c: intel_iommu_drain_pasid_prq (v6.17). "Supposed to be called after the device driver
 * has stopped DMA, the pasid entry has been cleared, and both IOTLB and DevTLB have been
 * invalidated." Only a device on the IOMMU's iopf queue (iopf_refcount > 0, i.e. PRI enabled)
 * can have page requests, so any other device returns at once.
 *
 * It waits until the PRQ holds no request of (sid, pasid) (in this sequential model the prq
 * thread runs inline), flushes the IOPF queue, then drains hardware as VT-d spec 7.10 says: a
 * fenced wait, a PASID-selective P_IOTLB and a full PASID devTLB invalidation, submitted with
 * a page-request-drain wait, repeated while the PRQ reports an overflow.
 */
export function intel_iommu_drain_pasid_prq(dev: Device, pasid: number): void {
  const info = dev_iommu_priv_get(dev);
  if (info.iopf_refcount === 0) return;
  const iommu = info.iommu;
  const did = FLPT_DEFAULT_DID; // info.domain is the RID domain; SVA devices have none
  while (iommu.unit.prq.hasPending(info.sid, pasid)) prq_event_thread(iommu);
  // iopf_queue_flush_dev(dev): the IOPF workqueue is the PRI issue's; nothing is queued yet.
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', iommu.name, `drain prq ${dev.hw.name} pasid=${pasid}`);
  const descs = [
    { kind: 'wait', fence: true, drain: false } as const,
    qi_desc_piotlb(iommu, did, pasid, 0n, NPAGES_ALL, false),
    qi_desc_dev_iotlb_pasid(info.sid, pasid, 0n, 52),
  ];
  for (;;) {
    qi_submit_sync(iommu, descs, { drain: true });
    if (!iommu.unit.prq.overflow) return;
    prq_event_thread(iommu);
  }
}
