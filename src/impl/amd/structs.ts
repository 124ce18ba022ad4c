/**
 * The AMD IOMMU driver's structures, after drivers/iommu/amd/amd_iommu_types.h (v6.19-rc):
 * struct amd_iommu, struct iommu_dev_data with its gcr3_tbl_info, struct protection_domain
 * with the SVA domain's embedded mmu_notifier and its pdom_dev_data list.
 */
import type { AmdIommuUnit, Gcr3Table } from '../../hw/amd/index.js';
import type { IopfQueue } from '../core/iopf.js';
import { spin_lock_init, type Mutex, type Spinlock } from '../core/locking.js';
import type { IommuDomainOps, IommuOps, MmuNotifierOps } from '../core/ops.js';
import type { Device, DomainType, IommuDevice, IommuDomain, Kernel, MmStruct, MmuNotifier } from '../core/types.js';

/** struct amd_iommu (the parts SVA uses). */
export interface AmdIommu extends IommuDevice {
  readonly unit: AmdIommuUnit;
  readonly kernel: Kernel;
  /** iommu->lock (a raw spinlock): serialises the command buffer's tail and need_sync. */
  readonly lock: Spinlock;
  /** iommu->cmd_sem_val: the last COMPLETION_WAIT store value handed out. */
  cmd_sem_val: number;
  /** iommu->need_sync: a command was queued since the last completion wait. */
  need_sync: boolean;
  /** iommu->iopf_queue (amd_iommu_iopf_init): its IRQ thread polls the PPR log. */
  iopf_queue: IopfQueue | undefined;
  /** The PCI segment's rlookup: DevID → device behind this IOMMU. */
  readonly devices: Map<number, Device>;
}

/** struct gcr3_tbl_info: a device's GCR3 table and the per-device domain ID that tags its guest translations. */
export interface Gcr3TblInfo {
  gcr3_tbl: Gcr3Table | undefined;
  glx: number;
  /** PASIDs installed (amd_iommu_set_gcr3 ++, amd_iommu_clear_gcr3 --). */
  pasid_cnt: number;
  domid: number;
}

/** struct iommu_dev_data. */
export interface IommuDevData {
  readonly dev: Device;
  readonly devid: number;
  readonly iommu: AmdIommu;
  /** dev_data->mutex: serialises attach_device / detach_device of the RID domain. */
  readonly mutex: Mutex;
  /** dev_data->dte_lock: one writer of the 256-bit DTE at a time (update_dte256). */
  readonly dte_lock: Spinlock;
  readonly gcr3_info: Gcr3TblInfo;
  /** min(iommu max_pasids, PCI max PASIDs) when both support PASID, else 0. */
  max_pasids: number;
  /** The RID domain (the identity domain here). */
  domain: ProtectionDomain | undefined;
  ats_enabled: boolean;
  ats_qdep: number;
  pri_enabled: boolean;
  pasid_enabled: boolean;
  /** PRG responses need a PASID (pci_prg_resp_pasid_required). */
  pri_tlp: boolean;
  /** On the IOMMU's IOPF queue: DTE.PPR is set. */
  ppr: boolean;
}

/** struct pdom_dev_data: one (device, PASID) an SVA domain is installed at. */
export interface PdomDevData {
  readonly pasid: number;
  readonly dev_data: IommuDevData;
}

/** struct pdom_iommu_info: the IOMMUs a domain's devices sit behind, refcounted. */
export interface PdomIommuInfo {
  readonly iommu: AmdIommu;
  refcnt: number;
}

/** struct protection_domain, with its embedded iommu_domain and (SVA) mmu_notifier. */
export class ProtectionDomain {
  readonly domain: IommuDomain;
  /** pdom->mn: ops set for SVA domains (iommu_sva_domain_free tests mn.ops). */
  mn: MmuNotifier | undefined;
  /** dev_list: devices whose RID is attached to this domain. */
  readonly dev_list: IommuDevData[] = [];
  /** dev_data_list: the SVA attachments, newest first (list_add). */
  readonly dev_data_list: PdomDevData[] = [];
  /** iommu_array: by IOMMU index. */
  readonly iommu_array = new Map<number, PdomIommuInfo>();
  /** kfree'd (amd_iommu_domain_free): a tombstone. */
  freed = false;
  /** pdom->lock (spin_lock_irqsave): guards dev_list and dev_data_list. */
  readonly lock: Spinlock;

  /** `id` is the protection-domain ID (pdom_ids); `traceId` the core's allocation-order name. */
  constructor(kernel: Kernel, readonly id: number, traceId: number, type: DomainType, ops: IommuDomainOps, owner: IommuOps) {
    this.lock = spin_lock_init(kernel, '&pdom->lock');
    this.domain = { id: traceId, type, ops, owner, mm: undefined, users: 0, container: this, freed: false };
  }

  /** Embed the SVA notifier (pdom->mn.ops = &sva_mn). */
  initNotifier(ops: MmuNotifierOps, mm: MmStruct): MmuNotifier {
    this.mn = { ops, mm, container: this, users: 0, hooked: false, freed: false };
    return this.mn;
  }
}

/** to_pdomain(): container_of(dom, struct protection_domain, domain). */
export const to_pdomain = (domain: IommuDomain): ProtectionDomain => domain.container as ProtectionDomain;

/** dev_iommu_priv_get(). */
export const dev_iommu_priv_get = (dev: Device): IommuDevData => dev.priv as IommuDevData;
