/**
 * The VT-d driver's own objects, after drivers/iommu/intel/iommu.h (v6.17): struct
 * intel_iommu, struct device_domain_info, struct dmar_domain and struct dev_pasid_info.
 * Reached from the core's objects through IommuDevice (the IntelIommu itself), dev->priv
 * (dev_iommu_priv_get) and domain->container (to_dmar_domain).
 */
import { QI_LENGTH } from '../../hw/vtd/invQueue.js';
import type { Device, IommuDevice, IommuDomain, Kernel, MmuNotifier } from '../core/types.js';
import type { IommuHwptVtdS1, IommuOps } from '../core/ops.js';
import { warn } from '../core/kernel.js';
import { type Completion, type Mutex, type Spinlock, init_completion, mutex_init, spin_lock_init } from '../core/locking.js';
import { type Task, hideSchedState as hide } from '../core/sched.js';
import type { PasidTable } from '../../hw/vtd/pasidTable.js';
import type { Radix } from '../../hw/radix.js';
import type { VtdUnit } from '../../hw/vtd/unit.js';
import type { CacheTag, QiBatch } from './cache.js';
import type { IopfQueue } from '../core/iopf.js';

/** iommu.h: FLPT_DEFAULT_DID, the one DID of every first-level-only PASID entry (SVA). */
export const FLPT_DEFAULT_DID = 1;
/** IOMMU_NO_PASID: RID traffic, PASID 0. */
export const IOMMU_NO_PASID = 0;

/** struct intel_iommu: one DMAR unit as the driver sees it. */
export class IntelIommu implements IommuDevice {
  readonly name: string;
  /** iommu->max_pasids = 2 << ecap_pss = 2^pasidBits. */
  readonly max_pasids: number;
  /** VTD_FLAG_SVM_CAPABLE (intel_svm_check): FL 1 GiB and 5-level paging match the CPU. */
  readonly svm_capable = true;
  /** ecap_flts, cap_fl5lp_support: first-level translation, 5-level first level. */
  readonly flts = true;
  readonly fl5lp = true;
  /** cap_caching_mode: real hardware (CM=0), so setting up an entry needs no invalidation. */
  readonly caching_mode = false;
  /** gcmd & DMA_GCMD_TE: translation is enabled, so device-TLB invalidations are sent. */
  readonly translation_enabled = true;
  /** qi_submit_sync calls that ended in an invalidation time-out (qi_check_fault: -ETIMEDOUT). */
  qi_timeouts = 0;
  /**
   * iommu->qi: the software view of the ring (desc_status per slot, free_head) and q_lock, the
   * raw spinlock (irqsave) qi_submit_sync holds while it fills the ring and polls the wait.
   */
  readonly qi: { readonly desc_status: Uint8Array; free_head: number; readonly q_lock: Spinlock };
  /** iommu->iopf_lock: prq_event_thread holds it across the device lookup and the report. */
  declare readonly iopf_lock: Mutex;
  /** iommu->prq_complete: completed by prq_event_thread, waited for by the PASID drain. */
  declare readonly prq_complete: Completion;
  /** No kernel counterpart: the proposed fix of finding vtd-drain-completion-race serializes the drains on it. */
  declare readonly prq_drain_lock: Mutex;
  /**
   * The PRQ's threaded IRQ handler (request_threaded_irq(prq_event_thread), IRQF_ONESHOT): the
   * task woken by the last page request interrupt, while it has not finished. A request that
   * arrives after the thread read the tail sets `prq_rerun` (IRQTF_RUNTHREAD): the thread runs
   * its handler once more. Scheduling state, not kernel data the explorer fingerprints.
   */
  declare prq_thread: Task | undefined;
  declare prq_rerun: boolean;
  /** iommu->iopf_queue (intel_iommu_enable_prq); set at probe. */
  iopf_queue: IopfQueue | undefined;
  /** iommu->device_rbtree: probed devices by source id (device_rbtree_find). */
  readonly device_rbtree = new Map<number, Device>();
  /** iommu->domain_ida: the DIDs of paging domains attached through this unit. */
  readonly domain_ida = new Set<number>();
  /** ecap_slts: second-level translation. */
  readonly slts = true;
  /** ecap_nest (nested_supported): nested translation, first stage over second stage. */
  readonly nest = true;
  /** iommu->lock: pasid.c takes it around reading and writing PASID entries. */
  readonly lock: Spinlock;

  constructor(
    readonly kernel: Kernel,
    readonly index: number,
    readonly unit: VtdUnit,
    readonly ops: IommuOps,
  ) {
    this.name = `dmar${index}`;
    this.max_pasids = 2 ** unit.pasidBits;
    this.lock = spin_lock_init(kernel, '&iommu->lock');
    const qi = { desc_status: new Uint8Array(QI_LENGTH), free_head: 0 };
    hide(qi, 'q_lock', spin_lock_init(kernel, '&qi->q_lock'));
    this.qi = qi as typeof this.qi;
    hide(this, 'iopf_lock', mutex_init(kernel, '&iommu->iopf_lock'));
    hide(this, 'prq_complete', init_completion('&iommu->prq_complete'));
    hide(this, 'prq_drain_lock', mutex_init(kernel, '&iommu->prq_drain_lock'));
    hide(this, 'prq_thread', undefined);
    hide(this, 'prq_rerun', false);
  }
}

/** struct device_domain_info: the driver's per-device state (dev_iommu_priv_get). */
export interface DeviceDomainInfo {
  readonly dev: Device;
  readonly iommu: IntelIommu;
  /** PCI_DEVID(bus, devfn) and the physical function's SID. */
  readonly sid: number;
  readonly pfsid: number;
  pasid_table: PasidTable | undefined;
  readonly pasid_supported: boolean;
  pasid_enabled: boolean;
  readonly ats_supported: boolean;
  ats_enabled: boolean;
  readonly ats_qdep: number;
  readonly pri_supported: boolean;
  pri_enabled: boolean;
  /** intel_iommu_enable_iopf references: non-zero once the device is on the IOMMU's iopf queue. */
  iopf_refcount: number;
  /** Errata: send every device-TLB invalidation twice. */
  readonly dtlb_extra_inval: boolean;
  /** The RID (IOMMU_NO_PASID) paging domain; undefined while blocked or on the identity domain. */
  domain: DmarDomain | undefined;
  /** The RID is attached to some domain (identity included); false once blocked. */
  domain_attached: boolean;
}

/** struct dev_pasid_info: one (device, PASID) attachment of a domain. */
export interface DevPasidInfo {
  readonly dev: Device;
  readonly pasid: number;
}

/** struct iommu_domain_info: a paging domain's DID on one IOMMU and the attachments holding it. */
export interface IommuDomainInfo {
  refcnt: number;
  readonly did: number;
}

/** The page table of a paging domain (generic_pt's pt_iommu: the VT-d first- or second-stage format). */
export interface DmarPgtable {
  readonly radix: Radix;
  readonly levels: 4 | 5;
  /** First-stage (use_first_level) or second-stage format. */
  readonly first_stage: boolean;
}

/** struct dmar_domain, the members an SVA domain and a paging domain use. */
export interface DmarDomain {
  readonly domain: IommuDomain;
  /** The mmu notifier embedded in an SVA domain. */
  notifier: MmuNotifier | undefined;
  /** domain->dev_pasids, list_add order (newest first). */
  readonly dev_pasids: DevPasidInfo[];
  /** domain->devices: the devices whose RID it is attached to (info->link), newest first. */
  readonly devices: DeviceDomainInfo[];
  /** domain->cache_tags: tags of one IOMMU kept together so flushes batch per IOMMU. */
  readonly cache_tags: CacheTag[];
  /** domain->cache_lock: guards cache_tags and the batch (spin_lock_irqsave in cache.c). */
  readonly cache_lock: Spinlock;
  /** domain->lock: guards dev_pasids and devices (iommu.c's domain_add/remove_dev_pasid, dmar_domain_attach_device). */
  readonly lock: Spinlock;
  qi_batch: QiBatch | undefined;
  /** Paging domains: the IOVA page table (undefined for SVA, which walks the mm's). */
  readonly pgtable?: DmarPgtable;
  /** Paging and nested domains: domain->iommu_array, the DID per IOMMU it is attached through. */
  readonly iommu_array?: Map<IntelIommu, IommuDomainInfo>;
  /** A second-stage domain allocated with IOMMU_HWPT_ALLOC_NEST_PARENT. */
  readonly nested_parent?: boolean;
  /** A nest parent: domain->s1_domains (s2_link, under s1_lock), its nested domains, newest first. */
  readonly s1_domains?: DmarDomain[];
  readonly s1_lock?: Spinlock;
  /** Nested domains: domain->s2_domain, the parent, and domain->s1_cfg, the user's stage-1 data. */
  readonly s2_domain?: DmarDomain;
  readonly s1_cfg?: IommuHwptVtdS1;
  /** kfree'd by intel_mm_free_notifier: a tombstone. */
  freed: boolean;
}

export const dev_iommu_priv_get = (dev: Device): DeviceDomainInfo => dev.priv as DeviceDomainInfo;
export const to_dmar_domain = (domain: IommuDomain): DmarDomain => domain.container as DmarDomain;

/** WARN_ON(cond): recorded with the core's warnings; returns cond so callers bail out as the kernel does. */
export const WARN_ON = (iommu: IntelIommu, cond: boolean, what: string): boolean => {
  if (cond) warn(iommu.kernel, `${iommu.name}: ${what}`);
  return cond;
};
