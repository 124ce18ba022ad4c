/**
 * Known upstream findings (docs/upstream-findings.md): places where the faithfully ported
 * mainline kernel breaks an invariant and the kernel, not the harness, is wrong. Each has a
 * proposed fix, switchable by name (`run --fix <name>`) and read only at its place in the impl,
 * as faults are. When a finding's buggy path runs in a step, the impl notes it
 * (Kernel.noteFinding); a violation of one of the finding's invariants in that step is then
 * reported as known instead of failing the run. Any other violation still fails, and so does
 * the finding itself once its fix is switched on.
 */
export type FindingName =
  | 'vtd-iopf-remove-nonpri' | 'vtd-release-fpd-lost' | 'vtd-drain-devtlb-absent' | 'vtd-teardown-race' | 'vtd-drain-completion-race'
  | 'vtd-rid-replace-blocks' | 'vtd-rid-attach-tags-twice' | 'vtd-rid-attach-tags-after-entry'
  | 'smmuv3-detach-no-iopf-flush'
  | 'smmuv3-release-vs-detach-cd'
  | 'amd-remove-pasid-no-iopf-flush'
  | 'iopf-partial-error-response' | 'iopf-stale-partial';

export interface FindingInfo {
  readonly name: FindingName;
  readonly title: string;
  readonly platform: 'vtd' | 'smmuv3' | 'amd' | 'both';
  /** What the buggy path trips; any other violation is not excused. */
  readonly excuses: readonly FindingExcuse[];
  /** The kernel functions involved (tree and commit: docs/kernel-version.md). */
  readonly where: string;
  /** The saved trace that replays it (regressions/upstream/). */
  readonly trace: string;
}

/** One violation a finding explains. */
export interface FindingExcuse {
  readonly invariant: string;
  /** When set, only a violation whose message contains it. */
  readonly message?: string;
  /**
   * The bug leaves state the invariant keeps seeing after the step that caused it (an entry in
   * the wrong form): once the finding was met in a run, later steps are excused too.
   */
  readonly persistent?: boolean;
  /** Spec and kernel part ways here (the spec drains what the kernel left): the run ends, unfailed. */
  readonly ends?: boolean;
}

export const FINDINGS: readonly FindingInfo[] = [
  {
    name: 'vtd-iopf-remove-nonpri',
    title: 'SVA unbind from a device without PRI WARNs in intel_iommu_disable_iopf',
    platform: 'vtd',
    excuses: [{ invariant: 'I-SPLAT', message: 'intel_iommu_disable_iopf: not enabled' }],
    where: 'intel/iommu.c: blocking_domain_set_dev_pasid → iommu.h: iopf_for_domain_remove → intel_iommu_disable_iopf (after 39c20c4e83b9)',
    trace: 'regressions/upstream/vtd-iopf-remove-nonpri.json',
  },
  {
    name: 'vtd-release-fpd-lost',
    title: 'mm release no longer leaves FPD set, so the unbind after exit skips the PRQ drain',
    platform: 'vtd',
    excuses: [
      { invariant: 'I5', message: 'entry is not the FPD form after mm release', persistent: true },
      { invariant: 'I-PRI-DRAIN', ends: true },
      { invariant: 'I8', message: 'still queued', ends: true },
      { invariant: 'I-PRI-ONCE', ends: true },
      { invariant: 'I-PRI-STALE', ends: true },
      { invariant: 'I-PRI-RETRY', ends: true },
      { invariant: 'REF', ends: true },
      // The same in a group of the unbind and a serviceFaults: the spec's unbind drained the
      // queued requests (answering them there), the kernel's serviceFaults answers them, so no
      // order of the two gives the kernel's observations (clean bench:faults, seed 601729).
      { invariant: 'LIN', message: 'not linearizable', ends: true },
      // With the PRQ thread running beside the unbind: the undrained request is reported after
      // the detach dropped the device's IOPF queue and before its xa_erase, so
      // iommu_report_device_fault finds the handle and no iopf_param (WARN_ON(!iopf_param)).
      { invariant: 'I-SPLAT', message: 'has no iopf_param', ends: true },
      // Or reported just before the detach: its work outlives the unbind and reads the freed
      // handle, or the group iopf_queue_remove_device freed as pending.
      { invariant: 'I-SPLAT', message: 'use-after-free in iommu_sva_handle_iopf:', ends: true },
      { invariant: 'I-SPLAT', message: 'iopf work runs on a freed group', ends: true },
      // A Stop Marker the skipped drain left in the PRQ.
      { invariant: 'I-PRI-STOP', message: 'Stop Marker(s), the spec', ends: true },
    ],
    where: 'intel/pasid.c: intel_pasid_tear_down_entry → intel_pasid_clear_entry (after 75ed00055c05); svm.c: intel_mm_release',
    trace: 'regressions/upstream/vtd-release-fpd-lost.json',
  },
  {
    name: 'vtd-drain-devtlb-absent',
    title: 'PRQ drain sends a device-TLB invalidation to a PRI device that is gone',
    platform: 'vtd',
    excuses: [{ invariant: 'I-QUEUE' }],
    where: 'intel/prq.c: intel_iommu_drain_pasid_prq (desc[2], no pci_device_is_present check, unlike pasid.c since 10e60d878139)',
    trace: 'regressions/upstream/vtd-drain-devtlb-absent.json',
  },
  {
    name: 'vtd-teardown-race',
    title: 'The unbind\'s and the mm release\'s PASID teardowns race: the second meets the first\'s non-present, not yet zeroed entry and WARNs',
    platform: 'vtd',
    excuses: [{ invariant: 'I-SPLAT', message: 'entry not clear' }],
    where: 'intel/pasid.c: intel_pasid_tear_down_entry (the !present && !FPD WARN_ON(val[0] != 0) against 75ed00055c05\'s clear-P-flush-zero window); svm.c: intel_mm_release (under &domain->lock) vs intel/iommu.c: blocking_domain_set_dev_pasid (no &domain->lock until domain_remove_dev_pasid)',
    trace: 'regressions/upstream/vtd-teardown-race.json',
  },
  {
    name: 'vtd-drain-completion-race',
    title: 'Two PRQ drains on one IOMMU share prq_complete: one drain\'s reinit_completion takes the completion the other\'s waiter was woken for, and that waiter sleeps on, holding &group->mutex, until some later page request runs the PRQ thread',
    platform: 'vtd',
    // The waiter's member never finishes: its observation is no order's, and the world is left
    // with a task asleep holding the group's mutex, so the run cannot go on.
    excuses: [{ invariant: 'LIN', message: 'wait_for_completion(&iommu->prq_complete)', ends: true }],
    where: 'intel/prq.c: intel_iommu_drain_pasid_prq (reinit_completion at prq_retry and qi_retry, no lock across drains of two groups) vs prq_event_thread (one complete(): "wake up all threads" wakes one)',
    trace: 'regressions/upstream/vtd-drain-completion-race.json',
  },
  {
    name: 'vtd-rid-replace-blocks',
    title: 'A RID replace that fails leaves the failing device blocked, while the core and iommufd keep the old domain attached',
    platform: 'vtd',
    // The failed replace took the device's RID entry away (I-FAIL). From then on the device's
    // RID translates nothing where the spec still reads the old HWPT, and its later teardowns
    // drain nothing: the spec holds no per-device RID state to follow it, so the run ends.
    excuses: [{ invariant: 'I-FAIL', message: 'replacePasid', ends: true }],
    where: 'intel/iommu.c: intel_iommu_attach_device (device_block_translation before paging_domain_compatible, iopf_for_domain_set and dmar_domain_attach_device, which can fail) vs iommu.c: __iommu_group_set_domain_internal (err_revert skips the device that failed; group->domain unchanged)',
    trace: 'regressions/upstream/vtd-rid-replace-blocks.json',
  },
  {
    name: 'vtd-rid-attach-tags-twice',
    title: 'A RID attach whose cache tags fail unassigns them twice: another device\'s shared IOTLB tag goes, and the domain\'s unmaps stop flushing that IOMMU\'s IOTLB',
    platform: 'vtd',
    // The lost tag shows at the next quiescent check (I11), or as the IOTLB entry an unmap
    // leaves behind (I6) and the DMA that reads the freed buffer through it; spec and kernel
    // part ways there (the spec has no cache tags), so the run ends.
    excuses: [
      { invariant: 'I11', message: 'missing', persistent: true, ends: true },
      { invariant: 'I6', persistent: true, ends: true },
      { invariant: 'I-UAF-DMA', persistent: true, ends: true },
      { invariant: 'OBS', persistent: true, ends: true },
    ],
    where: 'intel/iommu.c: dmar_domain_attach_device (out_block_translation after cache_tag_assign_domain failed) → device_block_translation → cache.c: cache_tag_unassign_domain (a second time; cache_tag_unassign matches an IOTLB tag by IOMMU, DID and PASID, not device)',
    trace: 'regressions/upstream/vtd-rid-attach-tags-twice.json',
  },
  {
    name: 'vtd-rid-attach-tags-after-entry',
    title: 'A RID attach writes the IOMMU_NO_PASID entry before it assigns the cache tags: a DMA in between fills the ATC, which a concurrent unmap\'s flush misses',
    platform: 'vtd',
    // The ATC entry the DMA left outlives the unmap (I6) until something flushes the device
    // TLB; a DMA through it reads the freed buffer (I-UAF-DMA, OBS).
    excuses: [
      { invariant: 'I6', persistent: true, ends: true },
      { invariant: 'I-UAF-DMA', persistent: true, ends: true },
      { invariant: 'OBS', persistent: true, ends: true },
    ],
    where: 'intel/iommu.c: dmar_domain_attach_device (domain_setup_first_level / domain_setup_second_level, then cache_tag_assign_domain; ATS on since intel_iommu_probe_finalize) beside cache.c: cache_tag_flush_range of an unmap',
    trace: 'regressions/upstream/vtd-rid-attach-tags-after-entry.json',
  },
  {
    name: 'smmuv3-detach-no-iopf-flush',
    title: 'SMMUv3 PASID detach leaves the PASID\'s pending stall faults queued',
    platform: 'smmuv3',
    // The stall stays for the evtq thread to meet after the PASID is gone or bound anew: from
    // here on the spec (which drained) and the kernel part ways.
    excuses: [
      { invariant: 'I-PRI-DRAIN', ends: true },
      { invariant: 'I-PRI-ONCE', ends: true },
      { invariant: 'I-PRI-STALE', ends: true },
      { invariant: 'I-PRI-RETRY', ends: true },
      { invariant: 'REF', ends: true },
      // With the evtq thread running beside the unbind (as for vtd-release-fpd-lost): the stall
      // is reported after the detach took the master off the IOPF queue and before its xa_erase
      // (the handle is found, no iopf_param: WARN_ON(!iopf_param)), or just before it, and its
      // work outlives the unbind on a group iopf_queue_remove_device freed, or on the freed handle.
      { invariant: 'I-SPLAT', message: 'has no iopf_param', ends: true },
      { invariant: 'I-SPLAT', message: 'iopf work runs on a freed group', ends: true },
      { invariant: 'I-SPLAT', message: 'use-after-free in iommu_sva_handle_iopf:', ends: true },
      // In a group the first to see it is the serviceFaults beside the unbind: it answers a stall
      // the spec's drain answered inside the detach (smmuv3 bench:faults seed 301759).
      { invariant: 'LIN', message: 'answered success', ends: true },
    ],
    where: 'arm-smmu-v3.c: arm_smmu_blocking_set_dev_pasid (no evtq drain, no iopf_queue_flush_dev; io-pgfault.c asks for both)',
    trace: 'regressions/upstream/smmuv3-detach-no-iopf-flush.json',
  },
  {
    name: 'smmuv3-release-vs-detach-cd',
    title: 'An mm release between an unbind\'s CD clear and its master_domain removal writes a valid quiet CD back into the cleared slot',
    platform: 'smmuv3',
    // The CD stays valid at an SSID nothing attaches, the freed ASID in it, and used_ssids, which
    // both writers count from the CD each read before the other wrote, is off by one from then
    // on: it never returns to 0 (the STE keeps its CD table), or it reaches 0 while an SSID is
    // attached (the STE drops its CD table and ATS: a later DMA at that PASID stream-aborts, run
    // --groups 0.15 --seed 4242, smmuv3 run seed 4266; its detach then has no ATC to invalidate,
    // seed 3: regressions/smmuv3-group-release-cd-ats-off-detach.json). Clean with the fix.
    excuses: [
      { invariant: 'I5', persistent: true },
      { invariant: 'I11', message: 'SSIDs still in use', persistent: true },
      { invariant: 'OBS', message: 'stream-abort', persistent: true },
      // The aborted access of a stall master is a page request the spec holds and the device
      // never sent (smmuv3 run seed 501764): spec and kernel part ways there.
      { invariant: 'I-PRI-ONCE', message: 'page requests outstanding', persistent: true, ends: true },
      // A later failed bind's unwind detaches the master at that SSID once more: the count goes
      // to 0 and the STE drops its CD table and ATS, a change the failed call made (smmuv3
      // bench:faults seed 801741).
      { invariant: 'I-FAIL', message: 'ssids', persistent: true },
    ],
    where: 'arm-smmu-v3.c: arm_smmu_blocking_set_dev_pasid (arm_smmu_clear_cd under arm_smmu_asid_lock only, then arm_smmu_remove_master_domain under devices_lock); arm-smmu-v3-sva.c: arm_smmu_mm_release (writes the quiet CD of every listed master under devices_lock)',
    trace: 'regressions/upstream/smmuv3-release-vs-detach-cd.json',
  },
  {
    name: 'amd-remove-pasid-no-iopf-flush',
    title: 'AMD PASID removal leaves the PASID\'s page requests in the PPR log and the IOPF queue',
    platform: 'amd',
    // The request stays for the PPR thread to report after the PASID is gone or bound anew:
    // from here on the spec (which drained) and the kernel part ways, as on SMMUv3.
    excuses: [
      { invariant: 'I8', message: 'still in the PPR log', ends: true },
      { invariant: 'I-PRI-DRAIN', ends: true },
      { invariant: 'I-PRI-ONCE', ends: true },
      { invariant: 'I-PRI-STALE', ends: true },
      { invariant: 'I-PRI-RETRY', ends: true },
      { invariant: 'REF', ends: true },
      // With serviceFaults beside the unbind: the request's IOPF work, queued before the
      // removal, runs after iommu_sva_unbind_device freed the attach handle it reads.
      { invariant: 'I-SPLAT', message: 'use-after-free in iommu_sva_handle_iopf:', ends: true },
      // A device member after the removal meets the PRI credit the drain would have given back
      // (amd run --groups seed 201745): no order of the spec, which drained, gives its observation.
      { invariant: 'LIN', ends: true },
    ],
    where: 'amd/pasid.c: amd_iommu_remove_dev_pasid (no amd_iommu_poll_ppr_log, no iopf_queue_flush_dev; io-pgfault.c asks for both)',
    trace: 'regressions/upstream/amd-remove-pasid-no-iopf-flush.json',
  },
  {
    name: 'iopf-partial-error-response',
    title: 'A non-last page request with no fault handler is answered, so its group is answered twice, once before its LAST',
    platform: 'vtd',
    // The device retires the group at the first answer; the second names nothing outstanding,
    // and the endpoint's protocol-error log keeps it.
    // Where the IOMMU discarded the LAST (an AMD PPR log overflow), the early answer is to a
    // group whose LAST never reached the kernel.
    excuses: [
      { invariant: 'I-PRI-ONCE', message: 'with no such request outstanding', persistent: true },
      { invariant: 'I-PRI-ONCE', message: 'whose LAST the IOMMU discarded', persistent: true },
      // The device retired the group at the early answer; the spec, which follows the fix,
      // still counts its requests outstanding (for good, if the LAST was discarded).
      { invariant: 'I-PRI-ONCE', message: 'page requests outstanding', ends: true },
      { invariant: 'I-PRI-RETRY', message: 'page request(s) answered, the spec answered', ends: true },
      // The same credits in a group: a request the device sends beside the fault thread that
      // answered early goes out, where the spec still finds every credit taken (amd seed 201740).
      { invariant: 'LIN', message: 'EFAULT (no PRI credit)', ends: true },
    ],
    where: 'io-pgfault.c: iommu_report_device_fault → err_bad_iopf → iopf_error_response (since 3dfa64aecbafc moved the answer into the core; VT-d\'s handle_bad_prq_event answers only LPIG)',
    trace: 'regressions/upstream/iopf-partial-error-response.json',
  },
  {
    name: 'iopf-stale-partial',
    title: 'Partial page requests of a detached PASID stay on the partial list and join a later group with the same PRG index',
    platform: 'vtd',
    // The kernel keeps what the spec freed: from here on they part ways.
    excuses: [
      { invariant: 'I-PRI-ONCE', message: 'partial page requests', ends: true },
      { invariant: 'OBS', ends: true },
      { invariant: 'REF', ends: true },
      { invariant: 'I-PRI-RETRY', ends: true },
    ],
    where: 'io-pgfault.c: iopf_queue_flush_dev (flushes the workqueue, not the partial list), iopf_group_alloc (matches partials by grpid alone); intel/prq.c: intel_iommu_drain_pasid_prq',
    trace: 'regressions/upstream/iopf-stale-partial.json',
  },
];

export const FINDING_NAMES: readonly FindingName[] = FINDINGS.map((f) => f.name);

export const isFindingName = (s: string): s is FindingName => (FINDING_NAMES as readonly string[]).includes(s);

export const findingInfo = (name: FindingName): FindingInfo => FINDINGS.find((f) => f.name === name)!;
