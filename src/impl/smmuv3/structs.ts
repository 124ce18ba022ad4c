/**
 * The driver's objects, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h (v6.17): the SMMU
 * instance, a master (one endpoint and its CD table), a domain and the master_domain links
 * that tell invalidations where to go.
 */
import type { CdTable, SmmuV3 } from '../../hw/smmuv3/index.js';
import type { IommuDomainOps, IommuOps, MmuNotifierOps } from '../core/ops.js';
import type { Device, IommuDevice, IommuDomain, Kernel, MmStruct, MmuNotifier } from '../core/types.js';
import type { XArrayAlloc } from './xarray.js';
import type { IopfQueue } from '../core/iopf.js';
import type { Radix } from '../../hw/radix.js';
import { mutex_init, spin_lock_init, type Mutex, type Spinlock } from '../core/locking.js';

/** IOMMU_NO_PASID: SSID 0, the RID's own context. */
export const IOMMU_NO_PASID = 0;

/** struct arm_smmu_device (the members SVA reaches). */
export interface ArmSmmuDevice extends IommuDevice {
  readonly unit: SmmuV3;
  readonly kernel: Kernel;
  /** ARM_SMMU_FEAT_*: RANGE_INV from the IDR, ATS/SVA/2_LVL_CDTAB always present here. */
  readonly features: {
    readonly range_inv: boolean; readonly ats: boolean; readonly sva: boolean; readonly two_lvl_cdtab: boolean;
    /** ARM_SMMU_FEAT_TRANS_S1 / _S2; NESTING needs both (arm_smmu_device_hw_probe). */
    readonly trans_s1: boolean; readonly trans_s2: boolean; readonly nesting: boolean;
  };
  readonly asid_bits: number;
  readonly ssid_bits: number;
  /** smmu->vmid_bits (IDR0.VMID16) and smmu->vmid_map, the stage-2 VMID ida. */
  readonly vmid_bits: number;
  readonly vmid_map: Set<number>;
  /** arm_smmu_asid_xa: one per world, shared by every SMMU instance, as the kernel's is global. */
  readonly asid_xa: XArrayAlloc<ArmSmmuDomain>;
  /** smmu->evtq.iopf: the fault queue stall events are reported to (arm_smmu_init_queues). */
  readonly evtq: { iopf: IopfQueue | undefined };
  /** smmu->streams: the probed masters' devices, in probe order (arm_smmu_find_master). */
  readonly masters: Device[];
}

/** struct arm_smmu_ctx_desc_cfg. */
export interface ArmSmmuCtxDescCfg {
  /** The allocated table (linear or two-level), undefined until the first CD is needed. */
  table: CdTable | undefined;
  s1cdmax: number;
  /** Valid CDs other than SSID 0 (arm_smmu_write_cd_entry keeps it). */
  used_ssids: number;
  /** The installed STE points at this table (STE.Config = S1_TRANS). */
  in_ste: boolean;
}

/**
 * The RID (SSID 0) domain's type: the harness's devices sit in an identity default domain,
 * until iommufd blocks them and attaches a stage-1 paging domain (arm_smmu_attach_dev).
 */
export type SidDomainType = 'IDENTITY' | 'BLOCKED' | 'PAGING';

/** struct arm_smmu_master. One stream per endpoint here (num_streams = 1). */
export interface ArmSmmuMaster {
  readonly dev: Device;
  readonly smmu: ArmSmmuDevice;
  readonly streams: readonly number[];
  readonly ssid_bits: number;
  readonly cd_table: ArmSmmuCtxDescCfg;
  /** PCI ATS is enabled at the endpoint (pci_enable_ats). */
  ats_enabled: boolean;
  /** The installed STE has EATS set. */
  ste_ats_enabled: boolean;
  stall_enabled: boolean;
  /** Master domains using IOPF (arm_smmu_enable_iopf references). */
  iopf_refcount: number;
  /** iommu_get_domain_for_dev(): what the RID is attached to. */
  sid_domain: SidDomainType;
}

/** struct arm_smmu_master_domain: one (master, SSID) a domain is installed at. */
export interface ArmSmmuMasterDomain {
  readonly master: ArmSmmuMaster;
  readonly domain: ArmSmmuDomain;
  readonly ssid: number;
  /** This attachment took an IOPF reference (arm_smmu_enable_iopf). */
  using_iopf: boolean;
}

/** enum arm_smmu_domain_stage (v7.0-rc5): an SVA domain is kzalloc'd, so S1 (0). */
export type ArmSmmuDomainStage = 'S1' | 'S2';

/**
 * smmu_domain->pgtbl_ops of a paging domain: the io-pgtable-arm table (ARM_64_LPAE_S1 at a 4K
 * granule, 48-bit IAS: four levels) that iommu_map fills and the SMMU walks through CD.TTB0.
 */
export interface ArmLpaePgtable {
  readonly radix: Radix;
  readonly levels: number;
}

/**
 * struct arm_smmu_domain with its embedded iommu_domain: an SVA domain (with its mmu_notifier)
 * or an iommufd paging domain (with its io-pgtable and ASID, or for stage 2 its VMID).
 */
export class ArmSmmuDomain {
  readonly domain: IommuDomain;
  /** The SVA domain's notifier; undefined for a paging domain. */
  readonly mmu_notifier: MmuNotifier | undefined;
  /** smmu_domain->cd.asid. */
  readonly cd = { asid: 0 };
  /** smmu_domain->s2_cfg.vmid (stage 2 only; 0 = none). */
  readonly s2_cfg = { vmid: 0 };
  stage: ArmSmmuDomainStage = 'S1';
  nest_parent = false;
  /** smmu_domain->pgtbl_ops (paging domains, set by arm_smmu_domain_finalise). */
  pgtbl: ArmLpaePgtable | undefined = undefined;
  /** smmu_domain->devices under devices_lock; list_add puts the newest first. */
  readonly devices: ArmSmmuMasterDomain[] = [];
  /** &smmu_domain->devices_lock: taken with spin_lock_irqsave around every walk of `devices`. */
  readonly devices_lock: Spinlock;
  /** atomic_t nr_ats_masters: master_domains whose master has ATS enabled. */
  nr_ats_masters = 0;
  /** domain.pgsize_bitmap (PAGE_SIZE for SVA since 12f78021973a). */
  pgsize_bitmap = 0n;
  /** kfree'd (SVA: by the notifier's free_notifier): a tombstone. */
  freed = false;

  constructor(
    readonly smmu: ArmSmmuDevice,
    id: number,
    ops: IommuDomainOps,
    owner: IommuOps,
    notifier: { readonly ops: MmuNotifierOps; readonly mm: MmStruct } | undefined,
    type: 'SVA' | 'PAGING' = 'SVA',
  ) {
    this.devices_lock = spin_lock_init(smmu.kernel, '&smmu_domain->devices_lock');
    // Only a paging domain names its kernel (it has no mm to reach it through).
    this.domain = type === 'PAGING'
      ? { id, type, ops, owner, mm: undefined, kernel: smmu.kernel, users: 0, container: this, freed: false }
      : { id, type, ops, owner, mm: undefined, users: 0, container: this, freed: false };
    this.mmu_notifier = notifier === undefined ? undefined : { ops: notifier.ops, mm: notifier.mm, container: this, users: 0, hooked: false, freed: false };
  }
}

/** to_smmu_domain(): the driver domain embedding an iommu_domain. */
export const to_smmu_domain = (domain: IommuDomain): ArmSmmuDomain => domain.container as ArmSmmuDomain;

/** dev_iommu_priv_get(): the master of a probed device. */
export const dev_iommu_priv_get = (dev: Device): ArmSmmuMaster => dev.priv as ArmSmmuMaster;

/**
 * arm-smmu-v3.c: static DEFINE_MUTEX(arm_smmu_asid_lock): a file-scope global, so one per
 * world. It keeps ASIDs from changing while an STE or CD is being worked on (attach, PASID
 * set and removal).
 */
const asidLocks = new WeakMap<Kernel, Mutex>();
export function arm_smmu_asid_lock(kernel: Kernel): Mutex {
  let m = asidLocks.get(kernel);
  if (m === undefined) asidLocks.set(kernel, (m = mutex_init(kernel, 'arm_smmu_asid_lock')));
  return m;
}
