/**
 * One explore scope per platform for CI, with its expected counts next to it (the habit of
 * the TLA+ Examples, where each model's distinctStates is recorded beside it): a change to the
 * spec, the impl, the hardware or the generators that changes the state space shows up as a
 * failing count, to be understood and then recorded here. test/explore/ciScopes.test.ts runs
 * them in `npm test`. A new platform needs an entry (the test says so).
 */
import type { ExploreScope } from '../harness/index.js';
import { COMMAND_KINDS, GROUP_ONLY_KINDS, type CommandKind, type Platform } from '../shared/index.js';

export interface CiScope {
  readonly scope: ExploreScope;
  readonly depth: number;
  /** Breadth first, symmetry on, every command kind: the explorer's defaults. */
  readonly distinctStates: number;
  readonly transitions: number;
  /** Command kinds explored, when not the explorer's default (every sequential kind). */
  readonly kinds?: readonly CommandKind[];
}

/**
 * The explorer's default kinds without the guest's stage-1 writes (guestMap, guestUnmap): 32
 * guestMap branches (4 IOVA pages × 4 GPA pages × r/rw) after every nested attach triple the
 * VT-d space at depth 3 (26,398 states, 3× the run time); the nested HWPT's attach, replace,
 * detach and DMA stay explored, the guest's table is left to the random search and the unit
 * tests (test/impl/vtd/nested.test.ts).
 */
const WITHOUT_GUEST_WRITES: readonly CommandKind[] = COMMAND_KINDS.filter((k) => !GROUP_ONLY_KINDS.has(k) && k !== 'guestMap' && k !== 'guestUnmap');

/**
 * VT-d's CI kinds: WITHOUT_GUEST_WRITES less failNth. failNth's 12 arms after every state were
 * 6,000 of the scope's 29,729 states at depth 3 and a third of its 28 s here, which pushed
 * `npm test` towards its 3-minute bound; every site stays reachable through failNext (one arm
 * per site), and failNth is explored by `sva-harness explore` and drawn by `run`.
 */
const VTD_CI_KINDS: readonly CommandKind[] = WITHOUT_GUEST_WRITES.filter((k) => k !== 'failNth');

const SMALL: ExploreScope = { iommus: 1, devicesPerIommu: 2, mms: 2, pages: 2, kpages: 0, pasidBits: 4 };

export const CI_SCOPES: Readonly<Partial<Record<Platform, CiScope>>> = {
  // Unchanged by the IOPF protocol work (issue 14, merged after these were recorded): the scope's
  // devices have no PRI (scopes build pri: false), so prg and page requests are not explored.
  // 944 states under the v6.17 port; 979 since the v7.0-rc5 port changed the VT-d teardown and
  // IOPF paths (docs/kernel-version.md). The iommufd paging-domain commands (attachPasid,
  // replacePasid, detachPasid, iommuMap, iommuUnmap, dmaIova) and migrate multiply VT-d's
  // branching: 68,073 states at depth 4 (about 40 s of CPU), so VT-d is recorded at depth 3.
  // Then 3,651/7,041 (VT-d, depth 3), 767/3,915 (SMMUv3), 800/3,981 (AMD) until main was merged
  // with fault injection (issue 13, merge-13): failNext arms any of the platform's own sites and
  // failNth(1..12) is a kind, so every armed injection is a state and every fallible call of the
  // next command (the paging attach/replace ones included) a branch.
  // 8,611/17,641 (VT-d), 2,963/13,832 (SMMUv3), 2,574/12,004 (AMD) until the fingerprint
  // stopped hashing lockdep records that learned nothing (issue 11): lockdep makes its record
  // on first use, so a state reached through a serviceFaults or gracePeriod that took no nested
  // lock differed from the same state reached without one, by an empty record alone. The
  // conversion moved the first use (sequential behaviour unchanged: trace digests equal), so the
  // old counts failed (8,203, 2,600, 2,259). With the empty record not hashed, the tree before the
  // conversion (d6d30c5) and after it give the counts below, with the same partition of every
  // VT-d sequence of depth 2 into states: no state is merged that was distinct.
  // 8,113/16,646, 2,600/12,340, 2,259/10,704 until mmap_lock became a lock (issue 11, the mm
  // side as tasks): lockdep now learns edges into and out of &mm->mmap_lock (iommu_sva_lock →
  // &mm->mmap_lock at a first bind, &mm->mmap_lock → the drivers' locks at an invalidation under
  // munmap or mprotect), so states that differ only in what lockdep has learned are distinct.
  // With lockdep's records left out of the fingerprint the old counts come back exactly: the
  // world's partition is unchanged.
  // 8,172/16,712 until the nested HWPT (issue 15, nested domains at a PASID): attachPasid,
  // replacePasid, detachPasid and dmaIova gained HWPT 2, whose attach allocates the nest parent
  // too and whose PASID entry, DID and NESTING cache tags are new state (17,079 states, 9.9 → 18 s
  // of CPU here); the guest's stage-1 writes are left out (WITHOUT_GUEST_WRITES).
  // 17,079 until iommufd's attach/replace/detach took &igroup->lock (issue 11): lockdep learns
  // edges out of it (&igroup->lock → &group->mutex, → the driver's locks), and states that differ
  // only in what lockdep has learned are distinct, as for mmap_lock above (transitions unchanged).
  // 17,107/32,234 until IOMMU_DESTROY of a HWPT (destroyHwpt, issue 15): at depth 3 it is legal
  // after a first attach (-EBUSY while attached: a transition, no state) and frees a HWPT that an
  // attach left allocated when it failed or was detached (new states: the domain, its DID and
  // page table gone, the nest parent's guest table with it).
  // 17,150/33,120 until RID attach (issue 15): attachPasid at PASID 0 of HWPT 0 or 1 takes the
  // group's DMA ownership (the RID blocked) and writes the IOMMU_NO_PASID entry, replacePasid
  // and detachPasid then work on it, and dmaIova reaches it from any device (about 10 → 14 s;
  // 23,069 while each RID attach claimed the ownership again: owner_cnt told two states apart).
  // 23,067/44,089 until iommufd's handle allocations (attach, replace) and the RID's xa_insert
  // became injection sites (issue 13): a failNext armed at each is a state, and so is what it
  // leaves after the attach or replace it fails.
  // 25,667/48,417 until the nested HWPT's RID attach (intel_nested_attach_dev, issue 15): HWPT 2
  // at a group's RID, attached or replaced to and from, with its parent allocated first.
  // 29,729/55,567 (28 s) until failNth left VT-d's CI kinds (VTD_CI_KINDS: 19 s).
  vtd: { scope: SMALL, depth: 3, distinctStates: 23793, transitions: 41999, kinds: VTD_CI_KINDS },
  // 755 states and 2,823 transitions before migrate (it moves a page's frame: +12 states) and
  // attachPasid (-EOPNOTSUPP here: transitions only) were generated.
  // 3,269/14,559 at depth 4 until SMMUv3 got paging domains at a PASID (attachPasid of HWPT 1
  // is a stage-1 domain with an ASID now, not -EOPNOTSUPP; iommuMap/iommuUnmap/dmaIova/
  // detachPasid/replacePasid become legal after it): 38,735/127,286 at depth 4 in 158 s here, so
  // SMMUv3 is recorded at depth 3, as VT-d is: 3,046/8,181 with HWPT 0 -EOPNOTSUPP (a
  // stage-1-only unit), 3,799/9,647 (about 15-20 s) since the unit has stage 2 and HWPT 0 is a
  // nest-parent S2 domain (allocated, -EINVAL at a PASID, mapped and unmapped through its VMID).
  // 3,827/11,652 once the nested HWPT's attach joined (SMMUv3 answers -EOPNOTSUPP after the VMM
  // allocated the nest parent: a few states have HWPT 0 allocated earlier).
  // Fork copy-on-write (issue 15) merges states where a read and a write touch before a fork
  // leave the same shared page, and the VMAs' anon_vma splits states by whether a VMA was split
  // before or after its first fault (at depth 4 before the merges: SMMUv3 3,269 → 3,283, AMD 2,804 → 2,818).
  // 3,827/11,652 until &igroup->lock (as VT-d above: lockdep's learned edges out of it split
  // states, and the split states at depth 2 are expanded too).
  // 4,621/13,356 until destroyHwpt (as VT-d above; on SMMUv3 the free also flushes the ASID or
  // VMID and gives it back, so a HWPT destroyed and allocated again may take another ASID).
  // 4,721/13,727 until RID attach (issue 15): HWPT 1 at a group's RID (the group blocked first,
  // CD 0 and a CD-table STE with S1DSS = SSID0, a master_domain at SSID 0), and its detach.
  // 6,078/17,162 until the three injection sites of iommufd and the RID (as VT-d above).
  smmuv3: { scope: SMALL, depth: 3, distinctStates: 6907, transitions: 19263 },
  // 788 and 2,873 before migrate and attachPasid (-EOPNOTSUPP: AMD has no paging domain at a PASID).
  // 12,600 transitions until attachPasid named the nested HWPT too (-EOPNOTSUPP: no new state).
  amd: { scope: SMALL, depth: 4, distinctStates: 2818, transitions: 13788 },
};
