/**
 * The kernel's globals for one world, and the Kernel services built on them. In C these are
 * file-scope statics (iommu_sva_lock's list and flag in iommu-sva.c, iommu_global_pasid_ida in
 * iommu.c, the SRCU of mm/mmu_notifier.c, the arch's TLB code, the kernel half of the page
 * tables). Here they hang off the Kernel object (a WeakMap keyed by it) so that worlds in one
 * process never share state, and drivers keep seeing only the Kernel interface of types.ts.
 */
import type { FailSite, FaultId, FindingName, Topology, TraceSink } from '../../shared/index.js';
import { PhysMem } from '../../hw/mem.js';
import { KernelSpace } from '../../hw/pagetable.js';
import type { IommuDomain, IommuMmData, IommuSva, Kernel, MmStruct, MmuNotifier } from './types.js';
import { type Arch, archFor } from './arch/index.js';
import { ContentCounters } from './content.js';
import { type Co, type Task, schedOf } from './sched.js';

export interface CoreOptions {
  /** arm64 only: FEAT_TLBIRANGE (system_supports_tlb_range). Default false: the MAX_DVM_OPS rule applies. */
  readonly cpuTlbRange?: boolean;
  /** Run with one historical bug switched back on (src/shared/fault.ts). */
  readonly fault?: FaultId;
  /** Proposed fixes of known upstream findings switched on (src/shared/finding.ts). */
  readonly fixes?: readonly FindingName[];
}

export interface CoreGlobals {
  readonly arch: Arch;
  readonly kspace: KernelSpace;
  readonly content: ContentCounters;
  /** iommu.c: iommu_global_pasid_ida (the allocated ids). */
  readonly pasidIda: Set<number>;
  /** iommu-sva.c: iommu_sva_mms (list_add: newest first) and iommu_sva_present. */
  readonly sva: { mms: IommuMmData[]; present: boolean };
  /** Objects allocated and not yet freed, in allocation order: the leak check's slab view. */
  readonly live: { domains: Set<IommuDomain>; handles: Set<IommuSva>; notifiers: Set<MmuNotifier> };
  /** WARN_ON()s that fired, in order. A correct kernel never fills this. */
  readonly warnings: string[];
  /** Fault injection (src/shared/failSite.ts); see should_fail. */
  readonly inject: FailInject;
  /**
   * The newest mm_struct of each slot (mm_alloc): what a frame's owner numbers name, for the
   * anonymous rmap walk (a copy-on-write page's anon_vma chain reaches every mm mapping it).
   */
  readonly mms: (MmStruct | undefined)[];
}

const globals = new WeakMap<Kernel, CoreGlobals>();

const makeGlobals = (kernel: Kernel, options: CoreOptions): CoreGlobals => ({
  arch: archFor(kernel.topology, options.cpuTlbRange ?? false),
  kspace: new KernelSpace(kernel.mem, kernel.topology.ptLevels),
  content: new ContentCounters(kernel.topology.mms),
  pasidIda: new Set(),
  sva: { mms: [], present: false },
  live: { domains: new Set(), handles: new Set(), notifiers: new Set() },
  warnings: [],
  inject: { armed: undefined, nth: 0, calls: 0, injected: undefined, failed: new Set(), task: undefined },
  mms: [],
});

/** The kernel services of a new world: fresh memory, empty SRCU queue, nothing armed. */
export function createKernel(topology: Topology, trace?: TraceSink, options: CoreOptions = {}): Kernel {
  const ids = { domain: 0, handle: 0 };
  const kernel: Kernel = {
    mem: new PhysMem(),
    topology,
    trace,
    srcuCallbacks: [],
    fault: options.fault,
    fixes: new Set(options.fixes ?? []),
    findingHits: [],
    shouldFail(site: FailSite): boolean {
      return should_fail(kernel, site);
    },
    nextId(kind: 'domain' | 'handle'): number {
      return ids[kind]++;
    },
  };
  // The kernel half of the page tables is set up at boot, before any process or IOMMU.
  globals.set(kernel, makeGlobals(kernel, options));
  return kernel;
}

/** The globals of a kernel; made on first use for a Kernel not built by createKernel. */
export function coreOf(kernel: Kernel): CoreGlobals {
  let g = globals.get(kernel);
  if (g === undefined) globals.set(kernel, (g = makeGlobals(kernel, {})));
  return g;
}

/**
 * Fault injection state. `armed` (failNext) stays until its site is reached; `nth`
 * (failNth) applies to the next command only, counting its fallible calls in `calls`. At
 * most one call fails per command; `injected` names it (what the kernel's FAULT_INJECTION
 * message and stack trace tell the tester), `failed` every site failed so far in this world.
 */
export interface FailInject {
  armed: FailSite | undefined;
  nth: number;
  calls: number;
  injected: FailSite | undefined;
  readonly failed: Set<FailSite>;
  /**
   * In a concurrent group: whose calls failNth counts. fail-nth is a task attribute
   * (current->fail_nth), so only the first member's calls, and those of the kernel tasks it
   * spawns (its command's work, as a sequential command's are), count; null until the member
   * first runs. Undefined outside a group: every call is the command's.
   */
  task: Task | null | undefined;
}

/** Whether `t` is `owner` or was spawned, directly or not, by it. */
const spawnedBy = (t: Task | undefined, owner: Task): boolean => {
  for (; t !== undefined; t = t.spawner) if (t === owner) return true;
  return false;
};

/**
 * lib/fault-inject.c: should_fail (v7.0-rc5), as failslab and fail_page_alloc call it at each
 * fallible call; one call per site check, at the place of the kernel call.
 */
function should_fail(kernel: Kernel, site: FailSite): boolean {
  const f = coreOf(kernel).inject;
  const counted = f.task === undefined || (f.task !== null && spawnedBy(schedOf(kernel).current, f.task));
  if (counted) f.calls++;
  if (f.injected !== undefined) return false;
  // failNext is a site filter, whoever calls (as failslab's debugfs knobs are); fail-nth is the task's.
  if (f.armed === site) f.armed = undefined;
  else if (!counted || f.nth !== f.calls) return false;
  f.nth = 0;
  f.injected = site;
  f.failed.add(site);
  kernel.trace?.event('core', 'FAULT_INJECTION', `forcing a failure: ${site}`);
  return true;
}

/** failNext(site): arm one site until it is reached. */
export function failNext(kernel: Kernel, site: FailSite): void {
  coreOf(kernel).inject.armed = site;
}

/** failNth(n): the n-th fallible call of the next command fails (/proc/self/fail-nth). */
export function failNth(kernel: Kernel, n: number): void {
  coreOf(kernel).inject.nth = n;
}

/** A command starts: its own call count, nothing injected yet. */
export function inject_begin(kernel: Kernel): void {
  const f = coreOf(kernel).inject;
  f.calls = 0;
  f.injected = undefined;
}

/** A command ended: failNth applied to it only (reading fail-nth back resets it). */
export function inject_end(kernel: Kernel): void {
  const f = coreOf(kernel).inject;
  f.nth = 0;
  f.task = undefined;
}

/**
 * A concurrent group starts with an injection armed for its first member: no call counts until
 * that member runs (inject_task), and then only its own.
 */
export function inject_group_begin(kernel: Kernel): void {
  inject_begin(kernel);
  coreOf(kernel).inject.task = null;
}

/** The armed member's first step: from now on its calls (and its spawned tasks') count. */
export function inject_task(kernel: Kernel): void {
  const f = coreOf(kernel).inject;
  if (f.task === null) f.task = schedOf(kernel).current;
}

/** The site that failed during the last command, if any. */
export const injected_site = (kernel: Kernel): FailSite | undefined => coreOf(kernel).inject.injected;

/** WARN_ON(): record it (and trace it); the kernel carries on. */
export function warn(kernel: Kernel, what: string): void {
  coreOf(kernel).warnings.push(what);
  kernel.trace?.event('core', 'WARN', what);
}

/**
 * A known upstream finding's buggy path ran (src/shared/finding.ts): the step may excuse the
 * violation it causes as known. Called only where the finding's fix switch is read.
 */
export function noteFinding(kernel: Kernel, name: FindingName): void {
  if (!kernel.findingHits.includes(name)) kernel.findingHits.push(name);
}

/** srcu: one grace period elapses; the callbacks queued before it run, in call_srcu order. */
export function* srcu_grace_period(kernel: Kernel): Co {
  const q = kernel.srcuCallbacks;
  // Callbacks queued by these callbacks wait for the next grace period.
  const batch = q.splice(0, q.length);
  for (const cb of batch) yield* cb();
}

