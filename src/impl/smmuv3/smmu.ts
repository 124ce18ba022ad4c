/**
 * The SMMUv3 driver's probe and ops table, after drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
 * (v6.17): arm_smmu_device_probe (one emulated unit per topology IOMMU), arm_smmu_probe_device
 * (the master, its PASID width, its RID in the identity domain: a bypass STE) and arm_smmu_ops
 * with the blocked domain through which the core removes a PASID.
 */
import { SmmuV3 } from '../../hw/smmuv3/index.js';
import { sync } from '../core/sched.js';
import type { IommuDomainOps, IommuOps } from '../core/ops.js';
import type { Device, IommuDomain, IommuDriver, Kernel, ProbeContext } from '../core/types.js';
import { arm_smmu_attach_dev_blocked, arm_smmu_attach_dev_identity, arm_smmu_attach_dev_sid_domain, arm_smmu_blocking_set_dev_pasid } from './attach.js';
import { iopf_queue_alloc } from '../core/iopf.js';
import { arm_smmu_evtq_thread, arm_smmu_page_response } from './evtq.js';
import { arm_smmu_domain_alloc_paging_flags } from './paging.js';
import { arm_smmu_sva_domain_alloc } from './sva.js';
import { ArmSmmuDomain, type ArmSmmuDevice, type ArmSmmuMaster } from './structs.js';
import { XArrayAlloc } from './xarray.js';

/**
 * arm_smmu_asid_xa is a file-scope global in the kernel: every SMMU instance allocates from
 * the same ASID space, each bounded by its own asid_bits. One per world here.
 */
const asidXas = new WeakMap<Kernel, XArrayAlloc<ArmSmmuDomain>>();
export const arm_smmu_asid_xa = (kernel: Kernel): XArrayAlloc<ArmSmmuDomain> => {
  let xa = asidXas.get(kernel);
  if (xa === undefined) asidXas.set(kernel, (xa = new XArrayAlloc()));
  return xa;
};

const arm_smmu_blocked_ops: IommuDomainOps = Object.freeze({
  attach_dev: arm_smmu_attach_dev_blocked,
  set_dev_pasid: arm_smmu_blocking_set_dev_pasid,
  free: function* () {}, // a static domain
});

/** arm_smmu_identity_ops: attach_dev only (the probe's default domain; the harness never returns to it). */
const arm_smmu_identity_ops = Object.freeze({
  attach_dev: arm_smmu_attach_dev_identity,
  free: function* () {},
}) as unknown as IommuDomainOps;

/** arm_smmu_ops (v7.0-rc5), the members SVA and iommufd's PASID attach use. */
export const arm_smmu_ops: IommuOps = Object.freeze({
  name: 'arm-smmu-v3',
  domain_alloc_sva: arm_smmu_sva_domain_alloc,
  domain_alloc_paging_flags: arm_smmu_domain_alloc_paging_flags,
  page_response: arm_smmu_page_response,
  get blocked_domain(): IommuDomain {
    return arm_smmu_blocked_domain;
  },
  get identity_domain(): IommuDomain {
    return arm_smmu_identity_domain;
  },
});

/** arm_smmu_identity_domain (v6.17): static (id -2). */
const arm_smmu_identity_domain: IommuDomain = {
  id: -2, type: 'IDENTITY', ops: arm_smmu_identity_ops, owner: arm_smmu_ops, mm: undefined, users: 0, container: undefined, freed: false,
};

/** arm_smmu_blocked_domain (v6.17): static (id -1: never from nextId); its set_dev_pasid removes a PASID. */
const arm_smmu_blocked_domain: IommuDomain = {
  id: -1, type: 'BLOCKED', ops: arm_smmu_blocked_ops, owner: arm_smmu_ops, mm: undefined, users: 0, container: undefined, freed: false,
};

/**
 * arm_smmu_device_probe (v6.17): the unit with the topology's SSID/ASID widths and RANGE_INV.
 * arm_smmu_sva_supported()'s "SMMU ASID bits >= CPU ASID bits" is not applied: the model's CPU
 * is taken to have the SMMU's ASID width, so tiny widths stay SVA-capable and ASID exhaustion
 * is reachable.
 */
function arm_smmu_probe_iommu(ctx: ProbeContext, index: number): ArmSmmuDevice {
  const spec = ctx.topology.iommus[index]!;
  const unit = new SmmuV3(`smmu${index}`, ctx.mem, spec);
  unit.trace = ctx.trace;
  const smmu: ArmSmmuDevice = {
    index,
    ops: arm_smmu_ops,
    max_pasids: 2 ** spec.pasidBits,
    unit,
    kernel: ctx,
    // IDR0.S1P and S2P: both stages, so ARM_SMMU_FEAT_NESTING (arm_smmu_device_hw_probe).
    features: { range_inv: spec.rangeInv, ats: true, sva: true, two_lvl_cdtab: true, trans_s1: true, trans_s2: true, nesting: true },
    asid_bits: spec.asidBits,
    ssid_bits: spec.pasidBits,
    vmid_bits: 16,
    vmid_map: new Set(),
    asid_xa: arm_smmu_asid_xa(ctx),
    evtq: { iopf: undefined },
    masters: [],
  };
  // arm_smmu_init_queues: with ARM_SMMU_FEAT_SVA and STALLS, the event queue gets a fault queue.
  smmu.evtq.iopf = iopf_queue_alloc(ctx, `smmu${index}-evtq`, () => arm_smmu_evtq_thread(smmu));
  return smmu;
}

/**
 * arm_smmu_probe_device + arm_smmu_enable_pasid (v6.17), then the default identity domain's
 * attach: ssid_bits = min(PCI PASID width, SMMU SSID bits); the CD table is allocated at the
 * first CD; the STE becomes bypass.
 */
function arm_smmu_probe_device(_ctx: ProbeContext, dev: Device): void {
  const smmu = dev.iommu as ArmSmmuDevice;
  smmu.unit.connect(dev.hw);
  // ATS is the driver's to enable (arm_smmu_enable_ats): the PCI core leaves it off.
  dev.hw.atsEnabled = false;
  const master: ArmSmmuMaster = {
    dev,
    smmu,
    streams: [dev.hw.sid],
    ssid_bits: Math.min(dev.hw.pasidBits, smmu.ssid_bits),
    cd_table: { table: undefined, s1cdmax: 0, used_ssids: 0, in_ste: false },
    ats_enabled: false,
    ste_ats_enabled: false,
    // A PRI endpoint of the topology is a stall-capable master (evtq.ts explains why).
    stall_enabled: dev.hw.pri,
    iopf_refcount: 0,
    sid_domain: 'IDENTITY',
  };
  dev.priv = master;
  smmu.masters.push(dev);
  // probe_device runs at world build, before any task: always the sequential path.
  sync(smmu.kernel, arm_smmu_attach_dev_sid_domain(master, 'IDENTITY'));
}

/** The platform plug-in the world builder probes with. */
export const armSmmuV3Driver: IommuDriver = Object.freeze({
  platform: 'smmuv3',
  probeIommu: arm_smmu_probe_iommu,
  probeDevice: arm_smmu_probe_device,
});
