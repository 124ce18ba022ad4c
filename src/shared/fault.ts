/**
 * The historical SVA bugs the impl can be switched back to, one at a time (reference/kernel-sva.md
 * §6). Each id names the place in the ported kernel code where the old logic lived; the switch
 * is read only there, never by the harness or the invariants. `expected` lists the invariant
 * ids the bug is meant to be caught by (any one of them catching it counts). R ids are races:
 * they show only when tasks interleave (src/sched), in a concurrent group or its hand schedule.
 */
export type FaultId =
  | 'B01' | 'B02' | 'B03' | 'B04' | 'B05' | 'B06' | 'B07' | 'B08'
  | 'B09' | 'B10' | 'B11' | 'B12' | 'B13' | 'B14' | 'B15' | 'B16'
  | 'B17' | 'B18' | 'B19'
  | 'B30' | 'B31'
  | 'B40' | 'B41'
  | 'B50' | 'B51' | 'B52' | 'B53'
  | 'B60' | 'B61'
  | 'R01' | 'R02' | 'R03' | 'R04' | 'R05';

export interface FaultInfo {
  readonly id: FaultId;
  readonly title: string;
  /** The fixing commit (or thread) and the kernel version it landed in. */
  readonly fix: string;
  /** 'core': a fault in the core, run on every platform where it applies. */
  readonly platform: 'vtd' | 'smmuv3' | 'amd' | 'core';
  readonly expected: readonly string[];
  /** Why the search cannot reach it, when the harness does not represent the bug's conditions. */
  readonly notRepresented?: string;
}

export const FAULTS: readonly FaultInfo[] = [
  { id: 'B01', title: 'PASID freed in __mmput, before unbind', fix: '2667ed10d9f0 (v5.18-rc6)', platform: 'core', expected: ['I1', 'I3', 'I10', 'REF', 'OBS'] },
  { id: 'B02', title: 'PASID freed at the last unbind', fix: '701fac40384f (v5.18)', platform: 'core', expected: ['I1', 'REF', 'OBS'] },
  { id: 'B03', title: 'fork child inherits the PASID', fix: 'dc7507ddce59 (v5.18)', platform: 'core', expected: ['I1', 'I13', 'REF'] },
  { id: 'B04', title: 'PASID leak in unbind', fix: 'a21518cb23a3 (v5.15-rc1)', platform: 'vtd', expected: ['I1', 'I11', 'REF'] },
  { id: 'B05', title: 'deadlock in the PRQ drain', fix: '6ef0505158f7 (v5.15-rc1)', platform: 'vtd', expected: ['I-SPLAT', 'I8', 'I-PRI-DRAIN'] },
  { id: 'B06', title: 'teardown always uses P_IOTLB, even for SL/nested entries', fix: '8798d3641119 (v5.14-rc6)', platform: 'vtd', expected: ['I6', 'I7'] },
  { id: 'B07', title: 'SVA domains get second-stage IOTLB flushes', fix: '04b1b069f151 (Dec 2025)', platform: 'vtd', expected: ['I6', 'I7', 'I-UAF-DMA', 'OBS'] },
  { id: 'B08', title: 'SVA handle sharing dropped: a second bind fails', fix: '65d4418c5002 (v6.8-rc5)', platform: 'core', expected: ['OBS', 'REF'] },
  { id: 'B09', title: 'signedness: an ida errno used as a PASID', fix: 'c20ecf7bb615 (v6.5-rc2)', platform: 'core', expected: ['OBS', 'I1', 'REF'] },
  { id: 'B10', title: 'one TLBI per page without RANGE_INV: soft lockup', fix: 'd5afb4b47e13 (v6.6-rc4)', platform: 'smmuv3', expected: ['I12', 'I-SPLAT'] },
  { id: 'B11', title: 'invalidation size = end - start + 1', fix: 'arm_smmu_mm_invalidate_range size fix (~v5.18-rc)', platform: 'smmuv3', expected: ['I14', 'I-SPLAT', 'I12'] },
  { id: 'B12', title: 'pgsize_bitmap = 0 for SVA domains', fix: '12f78021973a (2025)', platform: 'smmuv3', expected: ['I-SPLAT', 'I6', 'I14'] },
  { id: 'B13', title: 'GFP_KERNEL allocation under a spinlock in SVA bind', fix: 'b5bf7778b722 (v6.8-rc5)', platform: 'smmuv3', expected: ['I-SPLAT'] },
  { id: 'B14', title: 'kernel page-table pages freed without flushing SVA paging caches', fix: 'e37d5a2d60a3, CVE-2025-71202', platform: 'vtd', expected: ['I15', 'I6', 'I-UAF-DMA'] },
  { id: 'B15', title: 'devTLB invalidation sent to a disconnected device', fix: '4fc82cd907ac (2024)', platform: 'vtd', expected: ['I-QUEUE', 'I8'] },
  { id: 'B16', title: 'PASID attached to a group member without PASID support', fix: 'b3f6fcd8404f, the core skips max_pasids == 0 (2025)', platform: 'core', expected: ['EXC', 'OBS', 'REF', 'I2'] },
  { id: 'B17', title: 'SVA attach enables IOPF on a device without PRI: bind fails', fix: '39c20c4e83b9 (v7.0-rc5)', platform: 'vtd', expected: ['OBS', 'REF'] },
  { id: 'B18', title: 'PASID teardown zeroes the entry while it is present', fix: '75ed00055c05 (v7.0-rc1)', platform: 'vtd', expected: ['I7'] },
  { id: 'B19', title: 'ITE abort walk steps by 2: hard lockup after a multi-descriptor batch', fix: 'fe89277c9ceb (v7.0-rc5)', platform: 'vtd', expected: ['I-SPLAT'] },
  { id: 'B30', title: 'AMD GCR3 updates flush PASID 0 instead of the PASID (argument order)', fix: '8386207f37e9 (v6.12-rc1)', platform: 'amd', expected: ['I6', 'I8', 'I7', 'I-UAF-DMA', 'OBS', 'REF'] },
  { id: 'B31', title: 'AMD PPR handler leaks a pci_dev reference per page request', fix: 'mainline ppr.c after 508cc055353a (the newer 3c6a2bac1524 puts it; fixing commit not in the archives); introduced by 978d626b8f1a (v6.10-rc1); 6cf0981c2233 (v6.2-rc1) had fixed it in iommu_v2', platform: 'amd', expected: ['I11'] },
  { id: 'B40', title: 'failed group PASID attach undone on devices never attached', fix: 'b025dea63cde (v6.10-rc1)', platform: 'vtd', expected: ['I-SPLAT', 'I-FAIL', 'I5', 'REF'] },
  { id: 'B41', title: 'CD L1 table allocation failure unnoticed: NULL l1tab written', fix: '5941f0e0c1e0 (v6.18-rc6)', platform: 'smmuv3', expected: ['EXC'] },
  // The IOPF protocol (issue 14). Groups of several requests are sent only on VT-d here.
  { id: 'B50', title: 'a non-last page request is handled and answered as a group of its own', fix: 'fca5b78511e9 (v6.11-rc, 2024; lost return from 3dfa64aecbaf)', platform: 'vtd', expected: ['I-PRI-ONCE', 'I-PRI-RETRY', 'REF', 'OBS'] },
  // B51's I-SPLAT: the pre-fix drain at mm release sleeps (wait_for_completion) under intel_mm_release's &domain->lock.
  { id: 'B51', title: 'PASID teardown returns at a non-present entry: FPD left, PRQ drained at mm release instead of unbind', fix: 'cf08ca81d08a (v6.13-rc, Dec 2024)', platform: 'vtd', expected: ['I5', 'I11', 'I-PRI-ONCE', 'I-PRI-RETRY', 'I-PRI-DRAIN', 'REF', 'I-SPLAT'] },
  { id: 'B52', title: 'a PCIe Stop Marker is reported to the IOPF core as a page request and answered', fix: 'da8669ff41fa (v5.18-rc5; Fixes d5b9e4bfe0d8, v5.14)', platform: 'vtd', expected: ['I-PRI-STOP', 'I-PRI-ONCE', 'OBS'] },
  { id: 'B53', title: 'a page request nobody handles is answered Response Failure (PRI off for good), or not at all on a device without a fault queue', fix: 'b58b133e680b (v6.11-rc5, Aug 2024; "iommu: Handle iommu faults for a bad iopf setup")', platform: 'vtd', expected: ['I-SPLAT', 'I-PRI-ONCE', 'OBS', 'REF'] },
  { id: 'B60', title: 'PASID replacement rewrites the present entry in place', fix: 'c3b1edea3791 (v7.0-rc)', platform: 'vtd', expected: ['I7', 'I6'] },
  { id: 'B61', title: 'flush-all sends the device-TLB invalidation without the PASID', fix: '3141153816bf (v6.17)', platform: 'vtd', expected: ['I6', 'I-UAF-DMA'] },
  // Races (issue 11).
  { id: 'R01', title: 'B05 on its two-thread path: a page request arrives while the unbind holds pasid_mutex; the drain waits for the fault work, which sleeps on pasid_mutex', fix: '6ef0505158f7 (v5.15-rc1; lore 20210826215918.4073446-1-fenghua.yu@intel.com, reported by Dave Jiang), the lock order of d5b9e4bfe0d8', platform: 'vtd', expected: ['I-SPLAT'] },
  //
  // R02: I7 is its rule broken outright (the TLB invalidation and its sync before the ATC's),
  // seen at the notifier's own command batch; I6 when a device refilled its ATC in between.
  { id: 'R02', title: 'ATC invalidated before the main TLB, a device refills its ATC from the stale TLB (the 2019 bug was on the ->unmap path; the variant carries it on the SVA notifier)', fix: '353e3cf8590c (v5.4-rc1)', platform: 'smmuv3', expected: ['I6', 'I-UAF-DMA', 'I7'] },
  //
  // R03: I6 when the device filled its ATC in the window; I12 when it did not: the invalidation
  // still sent no ATC_INV to a master on the domain's list with ATS on (the cost rule's "one
  // ATC_INV per ATS stream", which mainline meets exactly since the count and the list change
  // together under devices_lock).
  { id: 'R03', title: 'nr_ats_masters raised only after ATS is enabled: a concurrent invalidation skips the new ATS master', fix: 'none: constructed from the ordering rule of cdb8a3c34635 (v5.4-rc1), which no commit ever had to fix', platform: 'smmuv3', expected: ['I6', 'I-UAF-DMA', 'I12'] },
  // R04 on VT-d: the failed attach frees the handle under the fault work (I-SPLAT); on AMD the
  // request is answered Success before the GCR3 entry exists and the retry faults (I-PRI-RETRY).
  // SMMUv3: the driver takes no PRI, and a stall is raised only through a written CD, so the
  // window is a multi-device group whose second master's attach fails after the first's CD went
  // live, with a stall from the first (spec/attaching.ts; models/groups.ts failedAttachRace).
  // LIN when the work answers Success before the unwind (the spec's stall finds only the
  // reservation and is aborted); I-SPLAT when the failed bind frees the handle under the work,
  // which outlives it because the unwind's detach flushes no fault work (finding
  // smmuv3-detach-no-iopf-flush; its use-after-free excuse covers only a handle an unbind freed).
  { id: 'R04', title: 'attach handle stored in the pasid_array before the driver attach: a page request queued meanwhile outlives the failed attach (handle and domain freed under the fault work)', fix: '5e9f822c9c68 (v6.15-rc1; the order dates from the attach handle of v6.11)', platform: 'core', expected: ['I-SPLAT', 'LIN', 'I-PRI-RETRY'] },
  //
  // R05: the run interleaves inside replacePasid (VT-d's entry setup is a task) and dmaPasid races it: LIN sees a torn
  // fetch (test/harness/groupReplace.test.ts); the in-place write's stale old-DID IOTLB entry is also I6 sequentially.
  { id: 'R05', title: 'PASID replacement writes the live entry in place: the IOMMU fetches a torn entry', fix: 'c3b1edea3791 (v7.0-rc1; 6.19.4, 6.18.39), CVE-2026-45945', platform: 'vtd', expected: ['LIN', 'I6', 'I-UAF-DMA', 'OBS'] },
];

export const FAULT_IDS: readonly FaultId[] = FAULTS.map((f) => f.id);

/** The corpus's ids as runs of consecutive numbers, for messages: `B01-B19, B30-B31, B50-B53, B60-B61`. */
export const faultIdRanges = (): string => {
  // Runs never cross a prefix: B19 and R01 are not consecutive.
  const nums = FAULT_IDS.map((id) => Number(id.slice(1)));
  const runs: string[] = [];
  for (let i = 0; i < nums.length;) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === nums[j]! + 1 && FAULT_IDS[j + 1]![0] === FAULT_IDS[j]![0]) j++;
    runs.push(i === j ? FAULT_IDS[i]! : `${FAULT_IDS[i]}-${FAULT_IDS[j]}`);
    i = j + 1;
  }
  return runs.join(', ');
};

export const isFaultId = (s: string): s is FaultId => (FAULT_IDS as readonly string[]).includes(s);
