/**
 * Peripheral page requests, after drivers/iommu/amd/ppr.c (v6.19-rc; the PPR handler as the
 * newer stored version, 3c6a2bac1524, has it): the PPR log's IRQ thread reporting each request
 * to the IOPF core, the page response (COMPLETE_PPR_REQUEST) and the per-IOMMU IOPF queue
 * (amd_iommu_iopf_add_device / remove_device as ppr.c 3c6a2bac1524 has them: no iommu->lock).
 */
import type { Co } from '../core/sched.js';
import { ThreadedIrq } from '../core/irq.js';
import type { PprEntry } from '../../hw/amd/index.js';
import {
  IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID,
  IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE, iopf_counts, iopf_queue_add_device, iopf_queue_alloc, iopf_queue_remove_device,
  iommu_report_device_fault, type IommuPageResponse, type IopfFault,
} from '../core/iopf.js';
import type { Errno } from '../../shared/index.js';
import type { Device } from '../core/types.js';
import { pci_dev_put, pci_get_domain_bus_and_slot } from '../pciRefs.js';
import { PPR_STATUS, amd_iommu_complete_ppr } from './cmd.js';
import { dev_iommu_priv_get, type AmdIommu, type IommuDevData } from './structs.js';

/** ppr_flag_to_fault_perm (v6.19-rc): user requests (US set), read or write; no execute here. */
const ppr_flag_to_fault_perm = (e: PprEntry): number => IOMMU_FAULT_PERM_READ | (e.write ? IOMMU_FAULT_PERM_WRITE : 0);

/**
 * iommu_call_iopf_notifier (mainline, ppr.c as of 3c6a2bac1524): a request with GN = 0 or a
 * PASID outside [1, max_pasids) is answered FAILURE at once ("Nobody cared, abort"); the others
 * go to iommu_report_device_fault. Both exits put the pci_dev that pci_get_domain_bus_and_slot
 * returned with a reference. B31: the v6.10 handler (ppr.c as of 508cc055353a) put it on
 * neither, one leaked reference per page request, the leak 6cf0981c2233 had fixed in the
 * iommu_v2 ppr_notifier this function replaced.
 */
function* iommu_call_iopf_notifier(iommu: AmdIommu, e: PprEntry): Co {
  const dev = pci_get_domain_bus_and_slot(iommu.devices, e.devid);
  if (dev === undefined) return;
  const put = iommu.kernel.fault !== 'B31';
  const dev_data = dev_iommu_priv_get(dev);
  if (!e.gn || e.pasid === 0 || e.pasid >= dev_data.max_pasids) {
    yield* amd_iommu_complete_ppr(dev_data, e.pasid, PPR_STATUS.failure, e.tag & 0x1ff);
    if (put) pci_dev_put(dev);
    return;
  }
  let flags = IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID | IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
  if (e.last) flags |= IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
  const evt: IopfFault = { prm: { flags, pasid: e.pasid, grpid: e.tag & 0x1ff, perm: ppr_flag_to_fault_perm(e), addr: BigInt(e.vpn) << 12n } };
  yield* iommu_report_device_fault(iommu.kernel, dev, evt);
  if (put) pci_dev_put(dev);
}

/**
 * amd_iommu_poll_ppr_log (v6.19-rc): every entry between head and tail, the head written past
 * each before it is handled. The PPR log's threaded IRQ handler calls it; each entry's handling
 * takes iommu->lock (a FAILURE response) or the IOPF core's locks, so another task can run
 * between two entries.
 */
export function* amd_iommu_poll_ppr_log(iommu: AmdIommu): Co {
  const log = iommu.unit.pprLog;
  // head and tail read once: what the IOMMU logs meanwhile waits for the next pass (PPRInt).
  for (let n = log.pending.length; n > 0; n--) {
    const e = log.shift()!;
    yield* ppr_irq(iommu).handle(iommu.kernel, iommu_call_iopf_notifier(iommu, e));
  }
}

/**
 * The PPR log's threaded interrupt: the entries its thread has taken from the log (head
 * written past them) and not yet reported. Neither the log nor the IOPF queue shows them, yet
 * they are the PASID's page requests (finding amd-remove-pasid-no-iopf-flush).
 */
const pprIrqs = new WeakMap<AmdIommu, ThreadedIrq>();
export function ppr_irq(iommu: AmdIommu): ThreadedIrq {
  let irq = pprIrqs.get(iommu);
  if (irq === undefined) pprIrqs.set(iommu, (irq = new ThreadedIrq(`AMD-Vi${iommu.index}-PPR`)));
  return irq;
}

/**
 * init.c: amd_iommu_restart_log (v6.19-rc; 274c2218b8b2 / 386ae59bd7db), via
 * ppr.c amd_iommu_restart_ppr_log: if the log still runs, nothing to do; else stop logging and
 * its interrupt, clear PPROverflow (RW1C), enable both again. The requests the IOMMU discarded
 * meanwhile are gone: nothing here answers them (and, unlike VT-d's prq_event_thread, nothing
 * discards the partial requests whose LAST may be among them).
 */
function amd_iommu_restart_ppr_log(iommu: AmdIommu): void {
  const log = iommu.unit.pprLog;
  if (log.running) return; // status & MMIO_STATUS_PPR_RUN_MASK
  if (iommu.kernel.trace) iommu.kernel.trace.event('driver', `amd${iommu.index}`, 'IOMMU PPR log restarting');
  log.setEnabled(false); // iommu_feature_disable(CONTROL_PPRLOG_EN), (CONTROL_PPRINT_EN)
  log.clearStatus(false, true); // writel(MMIO_STATUS_PPR_OVERFLOW_MASK)
  log.setEnabled(true); // iommu_feature_enable(CONTROL_PPRINT_EN), (CONTROL_PPRLOG_EN)
}

/**
 * iommu.c: amd_iommu_int_thread_pprlog → amd_iommu_handle_irq (v6.19-rc): while the status
 * shows PPRInt or PPROverflow, clear both (RW1C), poll the log, and on an overflow restart it;
 * then read the status again (erratum ERBT1312: a bit set while it was being cleared). The PPR
 * log's threaded IRQ handler: an 'irq' task when spawned.
 */
export function* amd_iommu_int_thread_pprlog(iommu: AmdIommu): Co {
  const log = iommu.unit.pprLog;
  while (log.interrupt || log.overflow) {
    const overflow = log.overflow;
    log.clearStatus(true, true); // writel(mask, MMIO_STATUS_OFFSET)
    yield* amd_iommu_poll_ppr_log(iommu);
    if (overflow) {
      iopf_counts(iommu.kernel).overflows++;
      amd_iommu_restart_ppr_log(iommu);
    }
  }
}

/** amd_iommu_iopf_init (v6.19-rc): the IOMMU's IOPF queue; its IRQ thread is the PPR log's (amd_iommu_int_thread_pprlog). */
export function amd_iommu_iopf_init(iommu: AmdIommu): void {
  if (iommu.iopf_queue !== undefined) return;
  iommu.iopf_queue = iopf_queue_alloc(iommu.kernel, `amdiommu-${iommu.index}-iopfq`, () => amd_iommu_int_thread_pprlog(iommu));
}

/** amd_iommu_page_response (v6.19-rc). */
export function* amd_iommu_page_response(dev: Device, _evt: IopfFault, resp: IommuPageResponse): Co {
  yield* amd_iommu_complete_ppr(dev_iommu_priv_get(dev), resp.pasid, PPR_STATUS[resp.code], resp.grpid);
}

/**
 * amd_iommu_iopf_add_device (v6.19-rc): a PRI-enabled device joins the queue; DTE.PPR follows.
 * No iommu->lock: v6.19-rc takes none here (iopf_queue_add_device takes the queue's mutex,
 * which must not be taken under a spinlock).
 */
export function* amd_iommu_iopf_add_device(iommu: AmdIommu, dev_data: IommuDevData): Co<Errno | 0> {
  if (!dev_data.pri_enabled) return 0;
  if (iommu.iopf_queue === undefined) return 'EINVAL';
  const ret = yield* iopf_queue_add_device(iommu.iopf_queue, dev_data.dev);
  if (ret !== 0) return ret;
  dev_data.ppr = true;
  return 0;
}

/** amd_iommu_iopf_remove_device (v6.19-rc): the caller has checked the device is on the queue. */
export function* amd_iommu_iopf_remove_device(iommu: AmdIommu, dev_data: IommuDevData): Co {
  yield* iopf_queue_remove_device(iommu.iopf_queue!, dev_data.dev);
  dev_data.ppr = false;
}
