/**
 * Recoverable faults on SMMUv3, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c (v6.17): the
 * event-queue thread turning stall events into iopf faults (arm_smmu_handle_event), logging the
 * rest and noticing an overflow (queue_sync_prod_in), the page response (CMD_RESUME), and the
 * per-master IOPF enable/disable.
 *
 * v6.17 SVA takes I/O page faults on SMMUv3 only through stalls: arm_smmu_enable_iopf needs
 * master->stall_enabled, and PCI PRI requests land in the PRI queue where arm_smmu_handle_ppr
 * logs "unexpected PRI request" and denies them. So a `pri` endpoint of the topology is a
 * stall-capable master here (firmware "dma-can-stall"), and its faults stall (CD.S).
 */
import { type Co, preemptPoint } from '../core/sched.js';
import { ThreadedIrq } from '../core/irq.js';
import type { Errno } from '../../shared/index.js';
import type { EvtqRecord } from '../../hw/smmuv3/index.js';
import {
  IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE, IOMMU_FAULT_PAGE_REQUEST_PASID_VALID, IOMMU_FAULT_PERM_READ, IOMMU_FAULT_PERM_WRITE,
  type IommuPageResponse, type IopfFault, iopf_counts, iommu_report_device_fault, iopf_queue_add_device, iopf_queue_remove_device,
} from '../core/iopf.js';
import type { Device } from '../core/types.js';
import { type ArmSmmuDevice, type ArmSmmuMaster, type ArmSmmuMasterDomain, dev_iommu_priv_get } from './structs.js';

/** arm_smmu_find_master: the master owning a StreamID. */
const arm_smmu_find_master = (smmu: ArmSmmuDevice, sid: number): ArmSmmuMaster | undefined => {
  for (const d of smmu.masters) if (d.hw.sid === sid) return dev_iommu_priv_get(d);
  return undefined;
};

/**
 * queue_remove_raw's cons update (queue_inc_cons + queue_sync_cons_out: a writel of EVTQ_CONS
 * the SMMU reads): after each event the thread takes, another CPU or the SMMU may run.
 */
const EVTQ_CONS_STORE = preemptPoint('arm_smmu_evtq_thread: queue_sync_cons_out(EVTQ_CONS)');

/**
 * The driver's copy of PROD.OVFLG (llq->prod's Q_OVF bit, arm_smmu_ll_queue): what
 * queue_sync_prod_in compares the register with. Per SMMU; starts clear, as the queue does.
 */
const llqOvf = new WeakMap<ArmSmmuDevice, boolean>();

/**
 * The EVTQ's threaded interrupt: the records its thread has taken off the queue and not yet
 * handed to the IOPF core (between queue_remove_raw and iommu_report_device_fault's return).
 * A PASID detach meanwhile leaves a stall pending that neither the queue nor the fault
 * parameter shows (finding smmuv3-detach-no-iopf-flush). None in flight at a quiescent point.
 */
const evtqIrqs = new WeakMap<ArmSmmuDevice, ThreadedIrq>();
export function evtq_irq(smmu: ArmSmmuDevice): ThreadedIrq {
  let irq = evtqIrqs.get(smmu);
  if (irq === undefined) evtqIrqs.set(smmu, (irq = new ThreadedIrq(`${smmu.unit.name}-evtq`)));
  return irq;
}

/**
 * arm_smmu_handle_event (v6.17) for one record: a stall becomes a last-page iopf fault with
 * grpid = STAG, PASID valid when SSV, reported for the master's device; anything else is no
 * recoverable fault (-EOPNOTSUPP: "Unhandled events should be pinned"), and a stall of no
 * master is -EINVAL (dumped; the stall is never resumed).
 */
function* arm_smmu_handle_event(smmu: ArmSmmuDevice, evt: EvtqRecord): Co<Errno | 0> {
  if (!evt.stall) return 'EOPNOTSUPP';
  const perm = evt.read ? IOMMU_FAULT_PERM_READ : IOMMU_FAULT_PERM_WRITE;
  let flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE;
  if (evt.ssv) flags |= IOMMU_FAULT_PAGE_REQUEST_PASID_VALID;
  const fault: IopfFault = { prm: { flags, grpid: evt.stag, perm, addr: BigInt(evt.vpn) << 12n, pasid: evt.ssv ? evt.ssid : 0 } };
  const master = arm_smmu_find_master(smmu, evt.sid);
  if (master === undefined) return 'EINVAL';
  yield* iommu_report_device_fault(smmu.kernel, master.dev, fault);
  return 0;
}

/** queue_sync_cons_out past the record (another task may run there), then its handling. */
function* consume(smmu: ArmSmmuDevice, evt: EvtqRecord): Co<Errno | 0> {
  yield EVTQ_CONS_STORE;
  return yield* arm_smmu_handle_event(smmu, evt);
}

/**
 * arm_smmu_evtq_thread (v6.17): take every record between CONS and PROD (queue_remove_raw,
 * each CONS write a yield point), handle it, dump what was not handled (ratelimited); then
 * queue_sync_prod_in: PROD.OVFLG differing from the driver's copy is "EVTQ overflow detected --
 * events lost" (the copy is updated); again while the queue is not empty. Last,
 * queue_sync_cons_ovf acknowledges the overflow (CONS.OVACKFLG = the copy). Nothing else is
 * done about lost records: only terminated-transaction records are ever lost (stall records
 * wait in the SMMU, IHI0070 7.4). The threaded IRQ handler: an 'irq' task when spawned.
 */
export function* arm_smmu_evtq_thread(smmu: ArmSmmuDevice): Co {
  const q = smmu.unit.evtq;
  const kernel = smmu.kernel;
  do {
    for (let evt = q.remove(); evt !== undefined; evt = q.remove()) {
      const ret = yield* evtq_irq(smmu).handle(kernel, consume(smmu, evt));
      if (ret !== 0 && kernel.trace) kernel.trace.event('driver', smmu.unit.name, `event ${evt.stall ? 'stall' : evt.id} received: sid ${evt.sid} ssid ${evt.ssid} vpn 0x${evt.vpn.toString(16)}`);
    }
    const ovf = q.ovflg;
    if (ovf !== (llqOvf.get(smmu) ?? false)) {
      iopf_counts(kernel).overflows++;
      if (kernel.trace) kernel.trace.event('driver', smmu.unit.name, 'EVTQ overflow detected -- events lost');
    }
    llqOvf.set(smmu, ovf);
  } while (q.records.length > 0);
  q.ovackflg = llqOvf.get(smmu) ?? false; // queue_sync_cons_ovf
}

/** arm_smmu_page_response (v6.17): a stall master gets CMD_RESUME (retry on success, else abort), no CMD_SYNC. */
export function* arm_smmu_page_response(dev: Device, _evt: IopfFault, resp: IommuPageResponse): Co {
  const master = dev_iommu_priv_get(dev);
  if (!master.stall_enabled) return; // "TODO: insert PRI response here"
  master.smmu.unit.submit({ kind: 'CMD_RESUME', sid: master.streams[0]!, stag: resp.grpid, retry: resp.code === 'success' });
}

/**
 * arm_smmu_enable_iopf (v6.17): only stall masters need IOPF (others handle their faults
 * themselves: not a failure); the first reference adds the master to the SMMU's fault queue.
 */
export function* arm_smmu_enable_iopf(master: ArmSmmuMaster, master_domain: ArmSmmuMasterDomain): Co<Errno | 0> {
  if (!master.stall_enabled) return 0;
  if (master.streams.length !== 1) return 'EOPNOTSUPP';
  if (master.iopf_refcount > 0) {
    master.iopf_refcount++;
    master_domain.using_iopf = true;
    return 0;
  }
  const ret = yield* iopf_queue_add_device(master.smmu.evtq.iopf!, master.dev);
  if (ret !== 0) return ret;
  master.iopf_refcount = 1;
  master_domain.using_iopf = true;
  return 0;
}

/** arm_smmu_disable_iopf (v6.17): the last reference takes the master off the queue (pending faults answered INVALID). */
export function* arm_smmu_disable_iopf(master: ArmSmmuMaster, master_domain: ArmSmmuMasterDomain | undefined): Co {
  if (master_domain !== undefined && !master.stall_enabled) iopf_counts(master.smmu.kernel).disablesWithoutPri++;
  if (master_domain === undefined || !master_domain.using_iopf) return;
  if (--master.iopf_refcount === 0) yield* iopf_queue_remove_device(master.smmu.evtq.iopf!, master.dev);
}
