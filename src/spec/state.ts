/**
 * The spec's abstract state: what a kernel developer would write on a whiteboard about SVA,
 * and nothing about how the kernel stores it. Mutable on purpose (fast-check models mutate
 * in place; the step is on the hot path); `cloneSpec` gives an independent copy for traces
 * and the refinement check.
 */
import type { Errno, FailSite, Observation, Topology } from '../shared/index.js';
import { bondTable, domainTable, mmTable, pasidTable } from './machines/index.js';
import type { BondContext, DomainContext, Instance, MmContext, PasidContext } from './machines/index.js';
import type { CoverageRecorder } from './coverage.js';
import { cloneHwpts, newHwpts, type SpecHwpt } from './paging.js';

/** Per-page VMA protection: 0 = no VMA, else a VMA with PROT_NONE, read-only or read-write. */
export const VMA_NONE = 0, VMA_PROTNONE = 1, VMA_R = 2, VMA_RW = 3;
/** Per-page PTE: absent, present but PROT_NONE (frame kept, no access), read-only, writable. */
export const PTE_ABSENT = 0, PTE_PROTNONE = 1, PTE_RO = 2, PTE_RW = 3;

/** One iommu_sva handle: per (group, mm) since iommu_attach_handle_get looks in the group's pasid_array. */
export interface SpecHandle {
  readonly domain: SpecDomain;
  /** refcount_t users: every successful bind through any device of the group. */
  users: number;
}

/** One SVA domain object of an mm. */
export interface SpecDomain {
  readonly slot: number;
  /** The SMMU instance it belongs to (SMMUv3); the allocating IOMMU on VT-d (not a constraint). */
  readonly iommu: number;
  /** SMMUv3 ASID from the global arm_smmu_asid_xa; 0 on VT-d (SVA uses FLPT_DEFAULT_DID). */
  readonly asid: number;
  /** Dense group indexes attached through it, in attach order. */
  readonly groups: number[];
  readonly m: Instance<DomainContext>;
}

export interface SpecSlot {
  readonly mm: Instance<MmContext>;
  /** Reset to a fresh instance for each new mm_struct in the slot. */
  pasid: Instance<PasidContext>;
  /** Which mm_struct of the slot this is: 0 before the first spawn/fork, then 1, 2, ... */
  gen: number;
  readonly vma: Uint8Array;
  readonly pte: Uint8Array;
  /** Content token of each present page (valid when pte != PTE_ABSENT). */
  readonly token: Int32Array;
  /**
   * 1: the present page is this mm's alone (PageAnonExclusive); 0 once a fork shared it
   * copy-on-write, until a write fault claims it again. mprotect(rw) makes only such a page
   * writable (can_change_pte_writable).
   */
  readonly exclusive: Uint8Array;
  /** Population counters: never reset, survive slot reuse (contracts.md "Content tokens"). */
  readonly popGen: Int32Array;
  /** mm->iommu_mm->sva_domains, newest first (list_add). */
  domains: SpecDomain[];
  /** By dense group index. */
  readonly handles: (SpecHandle | undefined)[];
  /** mmu_notifiers put but not yet freed (call_srcu): each holds mm_count until gracePeriod. */
  pendingNotifiers: number;
}

/** Facts derived once from the topology. */
export interface SpecTopo {
  readonly topology: Topology;
  /** dev->iommu->max_pasids = min(PCI PASID width, iommu max_pasids); 0 = no PASID. */
  readonly devMax: readonly number[];
  /** Dense group index of each device (groups numbered in order of first device). */
  readonly devGroup: readonly number[];
  /** Devices of each dense group, in device order (for_each_group_device). */
  readonly groupDevs: readonly (readonly number[])[];
  /** Topology group number of each dense group. */
  readonly groupId: readonly number[];
  /** PRI endpoint (VT-d: PRI enabled, SMMUv3: a stall-capable master): a miss becomes a page request. */
  readonly devPri: readonly boolean[];
}

/**
 * One page request a device sent (PCIe Page Request Message). `slot` -1: a PASID-less request
 * on the device's RID. Requests of one Page Request Group share `prgi`; only the last has `last`.
 */
export interface SpecRequest {
  readonly dev: number;
  /** The mm whose PASID the device tagged it with, as the device knows it (its waits and retries); -1: the RID. */
  readonly slot: number;
  /**
   * The PASID number the request carries (-1: the RID). The kernel finds the handler by this
   * number when it reports the request, so a request still queued when the PASID has gone to
   * another mm is that mm's fault (pri.ts handlerOf).
   */
  readonly pasid: number;
  readonly page: number;
  readonly write: boolean;
  readonly prgi: number;
  readonly last: boolean;
  /** A Stop Marker in a hardware queue (spec/stopMarker.ts): never waited on, never answered. */
  readonly stop?: true;
  /** A waiting request of a PASID its device stopped with a Stop Marker: its answer is ignored. */
  readonly stale?: true;
  /** A waiting request a full AMD PPR log discarded: nothing will answer it (hw/pri.ts `lost`). */
  readonly lost?: true;
}

/** What answering one request must lead to at the device: a retried access that read `token`, or none. */
export interface SpecRetired {
  readonly dev: number;
  readonly slot: number;
  readonly page: number;
  /** The request's access: two requests on one page, a read and a write, may end differently. */
  readonly write: boolean;
  readonly ok: boolean;
  /** Content token the retry reads; -1 when it does not complete. */
  readonly token: number;
}

/**
 * A group attach stopped partway (spec/attaching.ts): `devs` of the group have their PASID
 * entry for `slot`'s PASID present until __iommu_set_group_pasid's unwind.
 */
export interface SpecAttaching {
  readonly group: number;
  readonly slot: number;
  readonly devs: readonly number[];
}

/** A concurrent bind's unwind between its drain's first pass and its end (SpecState.bindRollback). */
export interface SpecBindRollback {
  readonly dev: number;
  readonly slot: number;
  readonly obs: Observation | undefined;
}

/** An SVA handle whose entries a concurrent unbind has torn down before erasing it (spec/detaching.ts). */
export interface SpecDetaching {
  readonly group: number;
  readonly slot: number;
  /** The group's PASID devices whose entries are torn down so far, in the group's order. */
  readonly devs: readonly number[];
}

/**
 * An mm whose exit has begun its mmu_notifier_release and not yet unmapped (spec/releasing.ts):
 * `released` are the devices whose SVA entries for `slot` the drivers' release callbacks have
 * torn down so far, in the order a linearization met them.
 */
export interface SpecReleasing {
  readonly slot: number;
  readonly released: number[];
}

/**
 * The choice of a concurrent group on SMMUv3: bit k of `mask` says whether the k-th retry that
 * may stall again does (pri.ts restalls); `before`, the PTEs of each slot before the group.
 */
export interface SpecRestall {
  before: readonly Uint8Array[] | undefined;
  mask: number;
  seen: number;
}

/**
 * Which points each IOMMU's fault thread has in a concurrent serviceFaults (bit i: IOMMU i), as
 * points.ts serviceThreadPoints decides for the group: `threads`, any; `split`, the first read
 * apart from the loop's end; `answers`, the answers the thread makes itself (no handler, the
 * abort group) apart from its read; `wakes` and `releases`, VT-d's wake-up and its first pass's
 * PQH write.
 */
export interface ThreadPoints {
  readonly threads: number;
  readonly split: number;
  readonly answers: number;
  readonly wakes: number;
  readonly releases: number;
}

/** Every bit of a ThreadPoints mask: every IOMMU. */
export const ALL_THREADS = -1;

/** Outside a group: every IOMMU's fault thread has all its points (VT-d's own only on VT-d), its answers at its read. */
export const ALL_THREAD_POINTS: ThreadPoints = Object.freeze({ threads: ALL_THREADS, split: ALL_THREADS, answers: 0, wakes: ALL_THREADS, releases: ALL_THREADS });

/** Whether bit `bit` is set in `mask` (an IOMMU's in a ThreadPoints mask, a group's in SpecState.bindSetUp). */
export const inMask = (mask: number, bit: number): boolean => ((mask >> bit) & 1) === 1;

/** No retry stalls again (mask 0: restalls is never asked). */
export const NO_RESTALL: SpecRestall = Object.freeze({ before: undefined, mask: 0, seen: 0 });

/** A paging attach or replace failing partway through its group, before its rollback (spec/pagingPartway.ts). */
export interface SpecPagingPartway {
  readonly group: number;
  readonly pasid: number;
  /** The devices set to `to` before the one that failed. */
  readonly devs: readonly number[];
  /** The HWPT the PASID held before (a replace), or -1 (an attach). */
  readonly from: number;
  readonly to: number;
  readonly errno: Errno;
}

/** An answer the fault thread has decided and not yet sent (SpecServicing.unanswered). */
export interface SpecAnswer {
  readonly r: SpecRequest;
  readonly code: 'invalid' | 'failure';
}

/** A group the fault thread reported with a handler, as its work runs: its faults in order, and the LAST (the handler's slot). */
export interface SpecGroup {
  readonly faults: readonly SpecRequest[];
  readonly last: SpecRequest;
  /** The slot whose attach handle the fault thread found (pri.ts handlerOf): the mm its work faults pages into. */
  readonly handler: number;
}

/**
 * A serviceFaults of a concurrent group between its points (spec/pri.ts servicePoint): the IOMMU
 * whose fault thread runs next (the IOMMU count: no pass under way), the IOPF work the threads
 * queued that has not run yet, in queue order, and the VT-d IOMMU whose thread has reported
 * `heldCount` requests without freeing their PRQ slots yet (-1: none).
 */
export interface SpecServicing {
  iommu: number;
  /**
   * Where the fault thread of `iommu` is (pri.ts servicePoint): VT-d's thread woken and not yet
   * run, its first read, work items run while it still loops (`early`, of which `earlyLeft`
   * remain), VT-d's PQH write of its first pass, the end of its loop, the rest of its work items.
   */
  phase: 'wake' | 'read' | 'early' | 'answer' | 'release' | 'loop' | 'work';
  /** How many work items of a pass run before its thread's loop ends: the linearization's choice (harness/group.ts). */
  early: number;
  earlyLeft: number;
  /**
   * Which pending item each work point takes: iopf_queue_alloc's workqueue is WQ_UNBOUND ("the
   * high-level function can handle groups out of order"), so its items run in any order. Base-3
   * digit j names the index in `pending` of the j-th item taken (0: the oldest, queue order);
   * the linearization's choice (harness/group.ts), 0 outside a group. `taken` counts them.
   */
  pick: number;
  taken: number;
  readonly pending: SpecGroup[];
  /**
   * Requests the thread's read found no handler for (or aborted), whose answer it sends later in
   * its loop (prq_event_thread answers inline, one by one, before its PQH write): the device's
   * credits come back only then.
   */
  readonly unanswered: SpecAnswer[];
  /**
   * The work item under way and its next fault: iommu_sva_handle_iopf takes the mmap lock per
   * fault (iommu_sva_handle_mm), so a group's faults are points of their own.
   */
  item: SpecGroup | undefined;
  itemAt: number;
  held: number;
  heldCount: number;
  /** The threads' points, set by the concurrent oracle for the group it runs (ALL_THREAD_POINTS outside one). */
  points: ThreadPoints;
}

/** A page whose PTE a migration entry replaced (try_to_migrate_one), until remove_migration_ptes. */
export interface SpecMigration {
  readonly slot: number;
  readonly page: number;
  readonly pte: number;
  /** The slot whose migrate unmapped it: `slot`, or a copy-on-write sharer of the folio (migrate.ts). */
  readonly by: number;
  /** The page's content token then: a munmap or exit meanwhile clears it, and the page stays unmapped. */
  readonly token: number;
}

export interface SpecState {
  readonly t: SpecTopo;
  readonly slots: SpecSlot[];
  /** Caller-level bonds, index dev * mms + slot. */
  readonly bonds: Instance<BondContext>[];
  /** iommu_global_pasid_ida. */
  readonly pasids: Set<number>;
  /** arm_smmu_asid_xa: one xarray for every SMMU instance (arm-smmu-v3.c DEFINE_XARRAY_ALLOC1); AMD: pdom_ids. */
  readonly asids: Set<number>;
  /** failNext: the armed site, until the impl reaches it. */
  failArmed: FailSite | undefined;
  /** failNth: n for the next command (0 = none). */
  failNth: number;
  /**
   * The site that failed in the command being stepped, as the kernel's FAULT_INJECTION report
   * names it (the checked step sets it before the spec steps); the spec consumes it where its
   * command makes that call, and a site left unconsumed is an injection the spec cannot place.
   */
  injected: FailSite | undefined;
  /**
   * How many of the command's opportunities to make that call to pass over before placing
   * it: a bind may reach one site once per attempted domain, and which attempt failed is the
   * one thing the report does not say (the checked step tries 0, 1, … and keeps the first
   * whose observation is the kernel's).
   */
  injectSkip: number;
  readonly kMapped: Uint8Array;
  readonly kToken: Int32Array;
  readonly kGen: Int32Array;
  /** Per dense group: iommufd holds its DMA ownership (taken by its first RID attach, kept; spec/rid.ts). */
  readonly ridOwned: Uint8Array;
  /** Page requests in the IOMMUs' hardware queues (VT-d PRQ, SMMUv3 event queue), in arrival order. */
  readonly prq: SpecRequest[];
  /** Non-last requests the kernel holds until their group's last one (iommu_fault_param.partial), every device. */
  readonly partial: SpecRequest[];
  /** Requests the devices wait on, in send order (each holds one PRI credit until its group is answered). */
  readonly waiting: SpecRequest[];
  /** Requests outstanding per device (each holds one PRI credit). */
  readonly outstanding: Uint8Array;
  /** Per IOMMU: the page request queue overflowed (VT-d DMA_PRS_PRO) and software has not cleared it. */
  readonly prqOverflow: Uint8Array;
  /** The requests answered by the last serviceFaults or unbind, in answer order. */
  readonly retired: SpecRetired[];
  /** Per device: 1 once surprise-removed (unplug); no later command may name it. */
  readonly unplugged: Uint8Array;
  /**
   * Per device, 1 once a group was answered Response Failure on VT-d or AMD: the endpoint's
   * PRI is off for good (the endpoint model's Response Failure, src/hw/device.ts), its misses
   * fault instead of sending requests.
   * SMMUv3 aborts a stall instead (CMD_RESUME without retry): no such state there.
   */
  readonly priFailed: Uint8Array;
  /** iommufd paging domains by HWPT id. */
  readonly hwpts: SpecHwpt[];
  /** Pages between a concurrent migrate's two points: the PTE a migration entry stands in for (migrate.ts). */
  readonly migrating: SpecMigration[];
  /** Group attaches between a concurrent bind's device-by-device setup and its unwind (attaching.ts). */
  readonly attaching: SpecAttaching[];
  /**
   * Set by the concurrent oracle for the run it makes (points.ts bindPointsBegin): bit g, a bind
   * on group g has a set-up point before each attempt. Fixed for the run: an armed failNext that
   * makes it so is spent once met.
   */
  bindSetUp: number;
  /**
   * Set with bindSetUp (points.ts bindTakesPasidFirst): the bonds (dev * mms + mm) whose bind
   * takes the mm's PASID at a point of its own; it depends on the mm, so a group mask cannot say.
   * Fixed for the run (copies share it).
   */
  bindPasid: readonly number[];
  /**
   * The bond (dev * mms + slot) of a concurrent unbind whose PRQ drain has run the fault
   * thread's first pass and not yet its re-run (pri.ts drainRead, points.ts drainSplits);
   * -1: none.
   */
  draining: number;
  /** The device of a concurrent VT-d replace whose old entry's PRQ drain is at that stage (paging.ts replaceDrainRead); -1: none. */
  replaceDraining: number;
  /**
   * Set by the concurrent oracle for the run (points.ts bindPointsBegin): bit g, a bind on group
   * g whose attempt unwinds a device has that device's PRQ drain as points of its own.
   */
  bindRollbackSplit: number;
  /**
   * A concurrent bind whose failed attempt's unwind has run its drain's first pass (bind.ts
   * rollbackDrain, pri.ts drainRead) and not yet its PQH write and re-run: the drained device,
   * the PASID's slot and the bind's observation, returned at its last point.
   */
  bindRollback: SpecBindRollback | undefined;
  /** Handles between a concurrent unbind's entry teardown and its erase (detaching.ts). */
  readonly detaching: SpecDetaching[];
  /**
   * Bonds (dev * mms + slot) whose device a concurrent last unbind has stopped and whose
   * unbind has not returned: the caller's contract holds the device quiet there (bind.ts unbindStopping).
   */
  readonly stopping: number[];
  /** mms between a concurrent exit's release begun and its unmap (releasing.ts). */
  readonly releasing: SpecReleasing[];
  /**
   * Set by the concurrent oracle for the point it runs: whether a device access inside an
   * exit's release window finds its device released (a linearization's choice; releasing.ts).
   */
  releaseSeen: boolean;
  /** Set by the concurrent oracle for the run it makes: which resumed SMMUv3 stalls stall again (pri.ts restalls). */
  restall: SpecRestall;
  /** Paging attaches failing partway, before their rollback (pagingPartway.ts). */
  readonly pagingPartway: SpecPagingPartway[];
  /** Set by the concurrent oracle for the point it runs: what an access inside such a window finds (pagingPartway.ts). */
  partwaySeen: number;
  /** A concurrent serviceFaults' pass under way (pri.ts servicePoint). */
  readonly servicing: SpecServicing;
  /** Shared, not cloned: a run's coverage. */
  coverage: CoverageRecorder | undefined;
}

const deriveTopo = (topology: Topology): SpecTopo => {
  const devMax = topology.devices.map((d) => {
    const iommu = topology.iommus[d.iommu]!;
    // drivers/iommu/iommu.c: dev_iommu_get_max_pasids (v6.17): min(pci_max_pasids, iommu max).
    // AMD: iommu->iommu.max_pasids = (1 << (PASmax + 1)) - 1 (amd/init.c iommu_init_pci).
    const iommuMax = topology.platform === 'amd' ? 2 ** iommu.pasidBits - 1 : 2 ** iommu.pasidBits;
    return d.pasidBits === 0 ? 0 : Math.min(2 ** d.pasidBits, iommuMax);
  });
  const groupId: number[] = [];
  const groupDevs: number[][] = [];
  const devGroup = topology.devices.map((d, i) => {
    let g = groupId.indexOf(d.group);
    if (g < 0) {
      g = groupId.length;
      groupId.push(d.group);
      groupDevs.push([]);
    }
    groupDevs[g]!.push(i);
    return g;
  });
  const devPri = topology.devices.map((d) => d.pri);
  return { topology, devMax, devGroup, groupDevs, groupId, devPri };
};

const newSlot = (pages: number, groups: number): SpecSlot => ({
  mm: mmTable.create(),
  pasid: pasidTable.create(),
  gen: 0,
  vma: new Uint8Array(pages),
  pte: new Uint8Array(pages),
  token: new Int32Array(pages),
  exclusive: new Uint8Array(pages),
  popGen: new Int32Array(pages),
  domains: [],
  handles: new Array<SpecHandle | undefined>(groups).fill(undefined),
  pendingNotifiers: 0,
});

/**
 * AMD's pdom_ids after boot (drivers/iommu/amd/iommu.c, v6.19-rc): the identity domain's ID,
 * then one per PASID-capable device for its GCR3 table (setup_gcr3_table), in probe order.
 */
const amdProbeIds = (topology: Topology, devMax: readonly number[]): Set<number> => {
  const ids = new Set<number>();
  if (topology.platform !== 'amd') return ids;
  ids.add(1);
  for (const max of devMax) if (max > 0) ids.add(ids.size + 1);
  return ids;
};

/** Every slot unborn, no PASIDs, no kernel pages mapped, nothing armed. */
export const initSpec = (topology: Topology, coverage?: CoverageRecorder): SpecState => {
  const t = deriveTopo(topology);
  return {
    t,
    slots: Array.from({ length: topology.mms }, () => newSlot(topology.pages, t.groupId.length)),
    bonds: Array.from({ length: topology.devices.length * topology.mms }, () => bondTable.create()),
    pasids: new Set(),
    asids: amdProbeIds(topology, t.devMax),
    failArmed: undefined,
    failNth: 0,
    injected: undefined,
    injectSkip: 0,
    kMapped: new Uint8Array(topology.kpages),
    kToken: new Int32Array(topology.kpages),
    kGen: new Int32Array(topology.kpages),
    ridOwned: new Uint8Array(t.groupId.length),
    prq: [],
    partial: [],
    waiting: [],
    outstanding: new Uint8Array(topology.devices.length),
    prqOverflow: new Uint8Array(topology.iommus.length),
    retired: [],
    unplugged: new Uint8Array(topology.devices.length),
    priFailed: new Uint8Array(topology.devices.length),
    hwpts: newHwpts(t.groupId.length),
    migrating: [],
    attaching: [],
    bindSetUp: 0,
    bindPasid: [],
    draining: -1,
    replaceDraining: -1,
    bindRollbackSplit: 0,
    bindRollback: undefined,
    detaching: [],
    stopping: [],
    releasing: [],
    releaseSeen: false,
    restall: NO_RESTALL,
    pagingPartway: [],
    partwaySeen: 0,
    servicing: { iommu: topology.iommus.length, phase: 'work', early: 0, earlyLeft: 0, pick: 0, taken: 0, pending: [], unanswered: [], item: undefined, itemAt: 0, held: -1, heldCount: 0, points: ALL_THREAD_POINTS },
    coverage,
  };
};

/** An independent deep copy (domains and handles keep their sharing within the copy). */
export const cloneSpec = (s: SpecState): SpecState => {
  const domainCopies = new Map<SpecDomain, SpecDomain>();
  const copyDomain = (d: SpecDomain): SpecDomain => {
    let c = domainCopies.get(d);
    if (c === undefined) {
      c = { slot: d.slot, iommu: d.iommu, asid: d.asid, groups: [...d.groups], m: domainTable.clone(d.m) };
      domainCopies.set(d, c);
    }
    return c;
  };
  return {
    t: s.t,
    slots: s.slots.map((sl) => ({
      mm: mmTable.clone(sl.mm),
      pasid: pasidTable.clone(sl.pasid),
      gen: sl.gen,
      vma: sl.vma.slice(),
      pte: sl.pte.slice(),
      token: sl.token.slice(),
      exclusive: sl.exclusive.slice(),
      popGen: sl.popGen.slice(),
      domains: sl.domains.map(copyDomain),
      handles: sl.handles.map((h) => (h === undefined ? undefined : { domain: copyDomain(h.domain), users: h.users })),
      pendingNotifiers: sl.pendingNotifiers,
    })),
    bonds: s.bonds.map((b) => bondTable.clone(b)),
    pasids: new Set(s.pasids),
    asids: new Set(s.asids),
    failArmed: s.failArmed,
    failNth: s.failNth,
    injected: s.injected,
    injectSkip: s.injectSkip,
    kMapped: s.kMapped.slice(),
    kToken: s.kToken.slice(),
    kGen: s.kGen.slice(),
    ridOwned: s.ridOwned.slice(),
    prq: [...s.prq],
    partial: [...s.partial],
    waiting: [...s.waiting],
    outstanding: s.outstanding.slice(),
    prqOverflow: s.prqOverflow.slice(),
    retired: [...s.retired],
    unplugged: s.unplugged.slice(),
    priFailed: s.priFailed.slice(),
    hwpts: cloneHwpts(s.hwpts),
    migrating: s.migrating.map((m) => ({ ...m })),
    attaching: [...s.attaching],
    bindSetUp: s.bindSetUp,
    bindPasid: s.bindPasid,
    draining: s.draining,
    replaceDraining: s.replaceDraining,
    bindRollbackSplit: s.bindRollbackSplit,
    bindRollback: s.bindRollback,
    detaching: [...s.detaching],
    stopping: [...s.stopping],
    releasing: s.releasing.map((r) => ({ slot: r.slot, released: [...r.released] })),
    releaseSeen: s.releaseSeen,
    restall: s.restall.mask === 0 ? NO_RESTALL : { ...s.restall },
    pagingPartway: [...s.pagingPartway],
    partwaySeen: s.partwaySeen,
    servicing: { ...s.servicing, pending: [...s.servicing.pending], unanswered: [...s.servicing.unanswered] },
    coverage: s.coverage,
  };
};

/** State indexes of the mm machine, for cheap comparisons on the hot path. */
export const MM = {
  unborn: mmTable.index('unborn'),
  live: mmTable.index('live'),
  exited: mmTable.index('exited'),
  dropped: mmTable.index('dropped'),
  freed: mmTable.index('freed'),
} as const;
