/**
 * Attaching domains to a master's RID or PASIDs, after drivers/iommu/arm/arm-smmu-v3/
 * arm-smmu-v3.c (v6.17): the prepare / install / commit sequence that keeps the master_domain
 * list, nr_ats_masters and PCI ATS consistent with the STE and CDs, arm_smmu_set_pasid, the
 * blocking domain's PASID removal and the identity (bypass) RID attach. arm_smmu_asid_lock
 * (a mutex) is held across prepare .. commit; the devices list and nr_ats_masters change only
 * under &smmu_domain->devices_lock (spin_lock_irqsave), where the C takes them.
 */
import { type Co } from '../core/sched.js';
import { lockdep_assert_held, mutex_lock, mutex_unlock, spin_lock, spin_unlock } from '../core/locking.js';
import type { Cd, Ste } from '../../hw/smmuv3/index.js';
import type { Errno } from '../../shared/index.js';
import type { Device, IommuDomain } from '../core/types.js';
import { arm_smmu_alloc_cd_ptr, arm_smmu_alloc_cd_tables, arm_smmu_clear_cd, arm_smmu_make_sva_cd, arm_smmu_ssids_in_use, arm_smmu_write_cd_entry } from './cd.js';
import { arm_smmu_make_s1_cd } from './paging.js';
import { dev_fault_param, iopf_queue_flush_dev } from '../core/iopf.js';
import { noteFinding, warn } from '../core/kernel.js';
import { arm_smmu_disable_iopf, arm_smmu_enable_iopf, arm_smmu_evtq_thread, evtq_irq } from './evtq.js';
import { arm_smmu_atc_inv_master } from './inv.js';
import { arm_smmu_install_ste_for_dev, arm_smmu_make_abort_ste, arm_smmu_make_bypass_ste, arm_smmu_make_cdtable_ste } from './ste.js';
import {
  IOMMU_NO_PASID, arm_smmu_asid_lock, dev_iommu_priv_get, to_smmu_domain, type ArmSmmuDevice, type ArmSmmuDomain, type ArmSmmuMaster, type ArmSmmuMasterDomain, type SidDomainType,
} from './structs.js';

/**
 * to_smmu_domain_devices (v6.17): the domain whose devices list an attachment sits on, for a
 * paging or SVA domain; none for the static identity and blocked ones (nor before the first attach).
 */
const to_smmu_domain_devices = (domain: IommuDomain | undefined): ArmSmmuDomain | undefined =>
  domain !== undefined && (domain.type === 'PAGING' || domain.type === 'SVA') ? to_smmu_domain(domain) : undefined;

/** struct arm_smmu_attach_state. Domains are the tracked (SVA) ones; RID domains are untracked. */
interface ArmSmmuAttachState {
  readonly master: ArmSmmuMaster;
  readonly old_domain: ArmSmmuDomain | undefined;
  readonly ssid: number;
  cd_needs_ats: boolean;
  ats_enabled: boolean;
  /** R03 only: the domain whose nr_ats_masters the moved atomic_inc raises in commit. */
  r03_domain?: ArmSmmuDomain;
}

/**
 * pci_enable_ats / pci_disable_ats (drivers/pci/ats.c): the write of the endpoint's ATS
 * Control Enable bit, from which on it caches (or no longer caches) translations.
 */
const pci_enable_ats = (master: ArmSmmuMaster): void => {
  master.dev.hw.atsEnabled = true;
};
const pci_disable_ats = (master: ArmSmmuMaster): void => {
  master.dev.hw.atsEnabled = false;
};

/** arm_smmu_ats_supported (v6.17): the SMMU has ATS and the endpoint has an ATS capability. */
const arm_smmu_ats_supported = (master: ArmSmmuMaster): boolean => master.smmu.features.ats && master.dev.hw.ats;

/**
 * arm_smmu_enable_ats (v6.17, as v7.0-rc5): STU from the SMMU's smallest granule, flush the
 * whole ATC (an ATC_INV of PASID 0 hits every PASID), then enable ATS at the endpoint. The
 * caller's attach_prepare already incremented nr_ats_masters: the order the smp_mb() in
 * arm_smmu_atc_inv_domain pairs with.
 */
function* arm_smmu_enable_ats(master: ArmSmmuMaster): Co {
  yield* arm_smmu_atc_inv_master(master, IOMMU_NO_PASID);
  // The writel() of the C's diagram: from here the endpoint fills its ATC.
  pci_enable_ats(master);
}

/**
 * arm_smmu_remove_master_domain (v6.17): arm_smmu_find_master_domain and the list_del under
 * devices_lock; a master_domain not found (NULL) is handed to disable_iopf, which ignores it.
 */
function* arm_smmu_remove_master_domain(master: ArmSmmuMaster, smmu_domain: ArmSmmuDomain | undefined, ssid: number): Co {
  if (smmu_domain === undefined) return;
  yield* spin_lock(smmu_domain.devices_lock);
  const i = smmu_domain.devices.findIndex((md) => md.master === master && md.domain === smmu_domain && md.ssid === ssid);
  const master_domain = i < 0 ? undefined : smmu_domain.devices.splice(i, 1)[0];
  if (master_domain !== undefined && master.ats_enabled) smmu_domain.nr_ats_masters--; // atomic_dec
  yield* spin_unlock(smmu_domain.devices_lock);
  yield* arm_smmu_disable_iopf(master, master_domain);
}

/**
 * arm_smmu_attach_prepare (v6.17; as read in v7.0-rc5, IOPF is enabled only for a domain with
 * an iopf_handler, so a paging domain never takes an IOPF reference): decide ATS, and put the
 * new domain on the devices list before any hardware changes so that both old and new domains
 * send ATC invalidations.
 */
function* arm_smmu_attach_prepare(state: ArmSmmuAttachState, smmu_domain: ArmSmmuDomain | undefined): Co<Errno | 0> {
  const master = state.master;
  // arm_smmu_share_asid() must not see two domains pointing at the same master_domain.
  lockdep_assert_held(master.smmu.kernel, arm_smmu_asid_lock(master.smmu.kernel));
  // A plain bypass STE cannot do ATS; a CD table (S1DSS bypass included) can.
  if (smmu_domain !== undefined || state.cd_needs_ats) state.ats_enabled = arm_smmu_ats_supported(master);
  if (smmu_domain !== undefined) {
    if (master.smmu.kernel.shouldFail('kzalloc@arm_smmu_attach_prepare')) return 'ENOMEM';
    const master_domain: ArmSmmuMasterDomain = { master, domain: smmu_domain, ssid: state.ssid, using_iopf: false };
    // Only a domain with a fault handler takes I/O page faults (SVA's; never a paging domain here).
    if (smmu_domain.domain.iopf_handler !== undefined) {
      const ret = yield* arm_smmu_enable_iopf(master, master_domain);
      if (ret !== 0) return ret; // err_free_master_domain: the kfree
    }
    yield* spin_lock(smmu_domain.devices_lock);
    // R03 moves this atomic_inc after pci_enable_ats (into commit): the order cdb8a3c34635's
    // diagram in arm_smmu_atc_inv_domain forbids.
    if (state.ats_enabled && master.smmu.kernel.fault !== 'R03') smmu_domain.nr_ats_masters++; // atomic_inc
    else if (state.ats_enabled) state.r03_domain = smmu_domain;
    smmu_domain.devices.unshift(master_domain); // list_add
    yield* spin_unlock(smmu_domain.devices_lock);
  }
  // Disable ATS before the STE stops allowing it (the C's wmb() orders the config write first).
  if (!state.ats_enabled && master.ats_enabled) pci_disable_ats(master);
  return 0;
}

/** arm_smmu_attach_commit (v6.17): synchronise the ATC and drop the old domain's link. */
function* arm_smmu_attach_commit(state: ArmSmmuAttachState): Co {
  const master = state.master;
  lockdep_assert_held(master.smmu.kernel, arm_smmu_asid_lock(master.smmu.kernel));
  if (state.ats_enabled && !master.ats_enabled) yield* arm_smmu_enable_ats(master);
  else if (state.ats_enabled && master.ats_enabled) yield* arm_smmu_atc_inv_master(master, state.ssid);
  else if (!state.ats_enabled && master.ats_enabled) yield* arm_smmu_atc_inv_master(master, IOMMU_NO_PASID);
  const late = state.r03_domain;
  if (late !== undefined) {
    // R03: nr_ats_masters raised only now, after pci_enable_ats. An invalidation in between
    // reads 0 and skips the ATC the device is already filling.
    yield* spin_lock(late.devices_lock);
    late.nr_ats_masters++; // atomic_inc
    yield* spin_unlock(late.devices_lock);
  }
  yield* arm_smmu_remove_master_domain(master, state.old_domain, state.ssid);
  master.ats_enabled = state.ats_enabled;
}

/** arm_smmu_update_ste (v6.17): switch the STE to the CD table (S1DSS from the RID domain). */
function* arm_smmu_update_ste(master: ArmSmmuMaster, sid_domain: SidDomainType, ats_enabled: boolean): Co {
  if (master.cd_table.in_ste && master.ste_ats_enabled === ats_enabled) return;
  if (sid_domain === 'PAGING') warn(master.smmu.kernel, `arm_smmu_update_ste: ${master.dev.hw.name}: RID domain not blocked`);
  const s1dss = sid_domain === 'IDENTITY' ? 'bypass' : 'terminate';
  yield* arm_smmu_install_ste_for_dev(master, arm_smmu_make_cdtable_ste(master, ats_enabled, s1dss));
}

/**
 * arm_smmu_set_pasid (v6.17): install `cd` at `pasid`. -EINVAL when the domain belongs to
 * another SMMU instance: an SVA domain is per (mm, SMMU), so the core allocates another one.
 */
export function* arm_smmu_set_pasid(
  master: ArmSmmuMaster,
  smmu_domain: ArmSmmuDomain,
  pasid: number,
  cd: Cd,
  old: IommuDomain | undefined,
): Co<Errno | 0> {
  const sid_domain = master.sid_domain;
  const asid_lock = arm_smmu_asid_lock(master.smmu.kernel);
  if (smmu_domain.smmu !== master.smmu) return 'EINVAL';
  // Only an identity or blocked RID leaves the STE to a PASID's CD table; a paging one has it in
  // place already (a stage-1 RID), or cannot have one (a stage-2 RID).
  if (!master.cd_table.in_ste && sid_domain !== 'IDENTITY' && sid_domain !== 'BLOCKED') return 'EINVAL';
  const b13 = master.smmu.kernel.fault === 'B13';
  // The CD's memory is allocated here, before anything takes a spinlock (b5bf7778b722). Under
  // B13 only the table is (the old code had it from the RID attach); the leaf comes later.
  if (b13 && master.cd_table.table === undefined) arm_smmu_alloc_cd_tables(master);
  else if (!b13 && !(yield* arm_smmu_alloc_cd_ptr(master, pasid))) return 'ENOMEM';
  const state: ArmSmmuAttachState = {
    master, ssid: pasid, old_domain: old === undefined ? undefined : to_smmu_domain(old), cd_needs_ats: false, ats_enabled: false,
  };
  yield* mutex_lock(asid_lock);
  const ret = yield* arm_smmu_attach_prepare(state, smmu_domain);
  if (ret !== 0) {
    yield* mutex_unlock(asid_lock); // out_unlock
    return ret;
  }
  if (b13) yield* arm_smmu_write_ctx_desc_devices(smmu_domain, pasid);
  // The ASID is read again under arm_smmu_asid_lock in case it changed.
  yield* arm_smmu_write_cd_entry(master, pasid, { ...cd, asid: smmu_domain.cd.asid });
  yield* arm_smmu_update_ste(master, sid_domain, state.ats_enabled);
  yield* arm_smmu_attach_commit(state);
  yield* mutex_unlock(asid_lock);
  return 0;
}

/**
 * B13's old logic, before b5bf7778b722 (v6.8-rc5): arm-smmu-v3-sva.c: arm_smmu_mmu_notifier_get
 * (v6.8-rc1, since 24503148c545 "Refactor write_ctx_desc") installed the SVA CD on every master
 * of the domain while walking smmu_domain->devices under devices_lock (spin_lock_irqsave), and
 * arm_smmu_write_ctx_desc → arm_smmu_get_cd_ptr allocated a missing two-level CD leaf there,
 * with GFP_KERNEL: a sleeping allocation in atomic context. The master being attached is on
 * the list already (attach_prepare put it there), as it was on the RID domain's list then.
 */
function* arm_smmu_write_ctx_desc_devices(smmu_domain: ArmSmmuDomain, pasid: number): Co {
  yield* spin_lock(smmu_domain.devices_lock);
  for (const master_domain of smmu_domain.devices) {
    const master = master_domain.master;
    if (master_domain.ssid !== pasid || !(yield* arm_smmu_alloc_cd_ptr(master, pasid))) continue;
    // arm_smmu_write_ctx_desc built each master's CD from the shared ctx_desc (S per master).
    yield* arm_smmu_write_cd_entry(master, pasid, arm_smmu_make_sva_cd(master, smmu_domain.domain.mm, smmu_domain.cd.asid));
  }
  yield* spin_unlock(smmu_domain.devices_lock);
}

/**
 * arm_smmu_attach_dev_ste (v6.17): a non-paging RID domain, keeping the CD table if PASIDs use
 * it; arm_smmu_asid_lock keeps ASIDs still while the STE changes, and SSID 0's CD is cleared
 * only after the unlock (after the master left the old domain's list).
 */
function* arm_smmu_attach_dev_ste(master: ArmSmmuMaster, ste: Ste, s1dss: 'bypass' | 'terminate', old: IommuDomain | undefined): Co {
  const state: ArmSmmuAttachState = { master, old_domain: to_smmu_domain_devices(old), ssid: IOMMU_NO_PASID, cd_needs_ats: false, ats_enabled: false };
  const asid_lock = arm_smmu_asid_lock(master.smmu.kernel);
  let target = ste;
  yield* mutex_lock(asid_lock);
  if (arm_smmu_ssids_in_use(master)) {
    state.cd_needs_ats = true;
    yield* arm_smmu_attach_prepare(state, undefined);
    target = arm_smmu_make_cdtable_ste(master, state.ats_enabled, s1dss);
  } else {
    yield* arm_smmu_attach_prepare(state, undefined);
  }
  yield* arm_smmu_install_ste_for_dev(master, target);
  yield* arm_smmu_attach_commit(state);
  yield* mutex_unlock(asid_lock);
  yield* arm_smmu_clear_cd(master, IOMMU_NO_PASID);
}

/**
 * arm_smmu_attach_dev_identity / arm_smmu_attach_dev_blocked (v6.17); `old` the RID's domain
 * until now (a paging one leaves its master_domain list here).
 */
export function* arm_smmu_attach_dev_sid_domain(master: ArmSmmuMaster, type: 'IDENTITY' | 'BLOCKED', old?: IommuDomain): Co {
  master.sid_domain = type;
  if (type === 'IDENTITY') yield* arm_smmu_attach_dev_ste(master, arm_smmu_make_bypass_ste(), 'bypass', old);
  else yield* arm_smmu_attach_dev_ste(master, arm_smmu_make_abort_ste(), 'terminate', old);
}

/** arm_smmu_attach_dev_identity (v6.17), the identity domain's attach_dev. */
export function* arm_smmu_attach_dev_identity(_domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0> {
  yield* arm_smmu_attach_dev_sid_domain(dev_iommu_priv_get(dev), 'IDENTITY', old);
  return 0;
}

/** arm_smmu_attach_dev_blocked (v6.17), the blocked domain's attach_dev. */
export function* arm_smmu_attach_dev_blocked(_domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0> {
  yield* arm_smmu_attach_dev_sid_domain(dev_iommu_priv_get(dev), 'BLOCKED', old);
  return 0;
}

/**
 * arm_smmu_attach_dev (v6.17; 685ca577b408's commit order is in arm_smmu_attach_commit), a
 * paging domain's attach_dev at the RID. A stage-1 domain gets SSID 0's CD (allocated before
 * anything changes) and a CD-table STE with S1DSS = SSID0; a stage-2 domain is refused while
 * SSIDs are in use (-EBUSY) and gets an S2 STE, which the emulated SMMU does not implement:
 * the harness never generates it (spec/rid.ts ridTakes).
 */
export function* arm_smmu_attach_dev(domain: IommuDomain, dev: Device, old: IommuDomain | undefined): Co<Errno | 0> {
  const master = dev_iommu_priv_get(dev);
  const smmu_domain = to_smmu_domain(domain);
  const state: ArmSmmuAttachState = { master, old_domain: to_smmu_domain_devices(old), ssid: IOMMU_NO_PASID, cd_needs_ats: false, ats_enabled: false };
  if (smmu_domain.smmu !== master.smmu) return 'EINVAL';
  if (smmu_domain.stage === 'S1') {
    if (!(yield* arm_smmu_alloc_cd_ptr(master, IOMMU_NO_PASID))) return 'ENOMEM';
  } else if (arm_smmu_ssids_in_use(master)) return 'EBUSY';
  else throw new Error(`arm_smmu_attach_dev: ${dev.hw.name}: a stage-2 STE (arm_smmu_make_s2_domain_ste), which the emulated SMMU does not implement`);
  // "Prevent arm_smmu_share_asid() from trying to change the ASID of either the old or new
  // domain while we are working on it."
  const asid_lock = arm_smmu_asid_lock(master.smmu.kernel);
  yield* mutex_lock(asid_lock);
  const ret = yield* arm_smmu_attach_prepare(state, smmu_domain);
  if (ret !== 0) {
    yield* mutex_unlock(asid_lock);
    return ret;
  }
  master.sid_domain = 'PAGING';
  yield* arm_smmu_write_cd_entry(master, IOMMU_NO_PASID, arm_smmu_make_s1_cd(master, smmu_domain));
  yield* arm_smmu_install_ste_for_dev(master, arm_smmu_make_cdtable_ste(master, state.ats_enabled, 'ssid0'));
  yield* arm_smmu_attach_commit(state);
  yield* mutex_unlock(asid_lock);
  return 0;
}

/**
 * Whether the flush would have had anything to do: a stall still in this SMMU's EVTQ, one its
 * EVTQ thread is handling on another CPU, or one reported and unanswered (the EVTQ thread and
 * the fault workqueue are per SMMU, so the drain answers every master's, not only this PASID's).
 */
const faults_pending = (smmu: ArmSmmuDevice): boolean =>
  smmu.unit.evtq.length > 0 || evtq_irq(smmu).inFlight > 0 || smmu.masters.some((d) => (dev_fault_param(d)?.faults.length ?? 0) > 0);

/**
 * arm_smmu_blocking_set_dev_pasid (v6.17; in v7.0-rc5 only iommu_get_domain_for_dev_locked
 * and the attach_dev old-domain argument changed, nothing SVA sees), i.e.
 * arm_smmu_remove_dev_pasid: under arm_smmu_asid_lock clear the CD (CFGI_CD + sync), flush the
 * SSID's ATC and unlink the master_domain (nr_ats_masters); after the unlock, once no SSID is
 * left, re-attach the RID domain (which takes the mutex again), downgrading the STE to bypass.
 */
export function* arm_smmu_blocking_set_dev_pasid(_new: IommuDomain, dev: Device, pasid: number, old: IommuDomain | undefined): Co<Errno | 0> {
  const master = dev_iommu_priv_get(dev);
  const kernel = master.smmu.kernel;
  const asid_lock = arm_smmu_asid_lock(kernel);
  yield* mutex_lock(asid_lock);
  // Mainline clears the CD with no devices_lock: an mm release walking the domain's devices in
  // between rewrites it (finding smmuv3-release-vs-detach-cd); its fix clears under the lock.
  const fixed = kernel.fixes.has('smmuv3-release-vs-detach-cd') && old !== undefined;
  if (fixed) yield* spin_lock(to_smmu_domain(old).devices_lock);
  yield* arm_smmu_clear_cd(master, pasid);
  if (fixed) yield* spin_unlock(to_smmu_domain(old).devices_lock);
  if (master.ats_enabled) yield* arm_smmu_atc_inv_master(master, pasid);
  // Mainline (v6.17 to v7.0-rc5) flushes no pending fault here. The proposed fix of finding
  // smmuv3-detach-no-iopf-flush drains the stall master's faults for the PASID as io-pgfault.c
  // asks of every IOMMU driver before a PASID is released (the event queue, then
  // iopf_queue_flush_dev), as VT-d's PRQ drain does.
  if (master.iopf_refcount > 0) {
    if (kernel.fixes.has('smmuv3-detach-no-iopf-flush')) {
      yield* arm_smmu_evtq_thread(master.smmu);
      // synchronize_irq on the EVTQ interrupt: a record the IRQ thread took before the CD was
      // cleared may not be reported yet (the queue above no longer shows it). Without this wait
      // its fault work ran on the freed handle (I-SPLAT, KASAN, under `run --fix all`, seed 7).
      yield* evtq_irq(master.smmu).synchronize(kernel);
      if ((yield* iopf_queue_flush_dev(dev)) !== 0) warn(kernel, `iopf_queue_flush_dev: ${dev.hw.name} has no fault queue`);
    } else if (faults_pending(master.smmu)) noteFinding(kernel, 'smmuv3-detach-no-iopf-flush');
  }
  yield* arm_smmu_remove_master_domain(master, old === undefined ? undefined : to_smmu_domain(old), pasid);
  // The CD this detach cleared is valid again: an mm release rewrote it in between.
  if (master.cd_table.table?.read(pasid).v === true) noteFinding(kernel, 'smmuv3-release-vs-detach-cd');
  yield* mutex_unlock(asid_lock);
  // The last SSID gone: downgrade the STE by re-attaching the RID domain (outside the lock),
  // when that is the identity or blocked one; a paging RID domain keeps the CD table for SSID 0.
  const sid = master.sid_domain;
  if (!arm_smmu_ssids_in_use(master) && sid !== 'PAGING') yield* arm_smmu_attach_dev_sid_domain(master, sid);
  return 0;
}
