/**
 * drivers/iommu/io-pgfault.c (v6.17): I/O page-fault reporting, grouping, dispatch to the
 * attach handle's domain, the group response and the per-device fault queue. An IOMMU driver
 * allocates one iopf_queue (its workqueue) and reports each recoverable fault from its fault
 * interrupt thread; the domain's iopf_handler (SVA: iommu_sva_iopf_handler) queues the group's
 * work on that workqueue.
 *
 * The fault threads and the workqueue are tasks (sched.ts). queue_work spawns a kworker task
 * per work item; the IOPF workqueue is WQ_UNBOUND and unordered, so a concurrent scheduler may
 * run queued items in any order and concurrently. Sequentially they get CPU time only when
 * the harness says so (iopf_run_all, the serviceFaults command) or when a driver waits for
 * them (the PRQ drain, iopf_queue_flush_dev): a flush runs them in place, oldest first.
 * Partial requests wait on the device's partial list until their group's LAST arrives.
 */
import { type Co, type Task, hideSchedState as hide, spawn, wait } from './sched.js';
import { type Errno, type IopfCounts, type PageResponseCode, zeroIopfCounts } from '../../shared/index.js';
import { iommu_attach_handle_get } from './iommu.js';
import { noteFinding, warn } from './kernel.js';
import { type Mutex, lock_map_acquire, lock_map_release, lockdep_map, mutex_init, mutex_lock, mutex_unlock } from './locking.js';
import type { LockInstance } from './sched.js';
import type { Device, IommuSva, Kernel } from './types.js';

/** include/linux/iommu.h: IOMMU_FAULT_PAGE_REQUEST_* flags. */
export const IOMMU_FAULT_PAGE_REQUEST_PASID_VALID = 1 << 0;
export const IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE = 1 << 1;
export const IOMMU_FAULT_PAGE_RESPONSE_NEEDS_PASID = 1 << 3;
/** include/linux/iommu.h: IOMMU_FAULT_PERM_*. */
export const IOMMU_FAULT_PERM_READ = 1 << 0;
export const IOMMU_FAULT_PERM_WRITE = 1 << 1;
export const IOMMU_FAULT_PERM_EXEC = 1 << 2;
export const IOMMU_FAULT_PERM_PRIV = 1 << 3;

/** include/linux/iommu.h: struct iommu_fault_page_request (addr: the faulting byte address). */
export interface IommuFaultPageRequest {
  readonly flags: number;
  readonly pasid: number;
  readonly grpid: number;
  readonly perm: number;
  readonly addr: bigint;
}

/** include/linux/iommu.h: struct iopf_fault (type IOMMU_FAULT_PAGE_REQ: the only one SVA sees). */
export interface IopfFault {
  readonly prm: IommuFaultPageRequest;
}

/** include/linux/iommu.h: struct iommu_page_response. */
export interface IommuPageResponse {
  readonly pasid: number;
  readonly grpid: number;
  readonly code: PageResponseCode;
}

/** include/linux/iommu.h: struct iopf_queue. */
export interface IopfQueue {
  readonly name: string;
  readonly kernel: Kernel;
  readonly devices: IommuFaultParam[];
  /** queue->lock: protects `devices` (add/remove device). */
  readonly lock: Mutex;
  /** The workqueue's items queued and not finished, in queue order (hung ones stay). */
  readonly works: IopfWork[];
  /** Their groups (works[i].group), for the properties that read what is queued. */
  readonly wq: IopfGroup[];
  /** The workqueue's lockdep map (wq->lockdep_map): held by every work item while it runs. */
  readonly map: LockInstance;
  /** Work items queued so far: names the kworker tasks. */
  nwork: number;
  /**
   * The driver's threaded fault IRQ handler (VT-d's PRQ thread, SMMUv3's evtq thread, AMD's PPR
   * log poll): moves hardware-queued faults into iommu_report_device_fault, as the 'irq' task's body.
   */
  readonly irq_thread: () => Co;
}

/** A queued work_struct and the kworker task that runs it. */
export interface IopfWork {
  readonly group: IopfGroup;
  task: Task | undefined;
  finished: boolean;
}

/** include/linux/iommu.h: struct iommu_fault_param (dev->iommu->fault_param). */
export interface IommuFaultParam {
  readonly dev: Device;
  readonly queue: IopfQueue;
  /** fault_param->lock: protects `faults` and `partial`. */
  readonly lock: Mutex;
  /** Groups reported and not yet responded to (pending_node). */
  readonly faults: IopfGroup[];
  /** Non-last requests waiting for the last of their group. */
  readonly partial: IopfFault[];
}

/** include/linux/iommu.h: struct iopf_group. */
export interface IopfGroup {
  readonly last_fault: IopfFault;
  readonly faults: readonly IopfFault[];
  readonly fault_param: IommuFaultParam;
  attach_handle: IommuSva | undefined;
  /** The work function queued by the domain's iopf_handler. */
  work: ((group: IopfGroup) => Co) | undefined;
  freed: boolean;
}

/**
 * Per world: how often the run met each part of the fault protocol (run statistics; no kernel
 * counterpart, nothing in the kernel reads them).
 */
const counts = new WeakMap<Kernel, IopfCounts>();

export function iopf_counts(kernel: Kernel): IopfCounts {
  let c = counts.get(kernel);
  if (c === undefined) counts.set(kernel, (c = zeroIopfCounts()));
  return c;
}

/** Per world: the iopf queues in allocation order (what iopf_run_all schedules). */
const queuesOf = new WeakMap<Kernel, IopfQueue[]>();
/** Per world: requests in groups answered IOMMU_PAGE_RESP_SUCCESS so far (what serviceFaults reports). */
const successes = new WeakMap<Kernel, number>();
/** dev->iommu->fault_param. */
const faultParams = new WeakMap<Device, IommuFaultParam>();

export const dev_fault_param = (dev: Device): IommuFaultParam | undefined => faultParams.get(dev);

export function iopf_queues(kernel: Kernel): readonly IopfQueue[] {
  return queuesOf.get(kernel) ?? [];
}

/** io-pgfault.c: iopf_queue_alloc. `irq_thread` stands for the driver's threaded fault IRQ. */
export function iopf_queue_alloc(kernel: Kernel, name: string, irq_thread: () => Co): IopfQueue {
  const queue = { name, kernel, devices: [], wq: [], irq_thread } as unknown as IopfQueue;
  hide(queue, 'lock', mutex_init(kernel, '&queue->lock'));
  hide(queue, 'works', []);
  hide(queue, 'map', lockdep_map(`(wq_completion)${name}`));
  hide(queue, 'nwork', 0);
  let list = queuesOf.get(kernel);
  if (list === undefined) queuesOf.set(kernel, (list = []));
  list.push(queue);
  return queue;
}

/** io-pgfault.c: iopf_queue_add_device: -ENODEV without ops->page_response, -EBUSY if already added. */
export function* iopf_queue_add_device(queue: IopfQueue, dev: Device): Co<Errno | 0> {
  if (typeof dev.iommu.ops.page_response !== 'function') return 'ENODEV';
  yield* mutex_lock(queue.lock);
  let ret: Errno | 0 = 0;
  if (faultParams.has(dev)) ret = 'EBUSY';
  else if (queue.kernel.shouldFail('kzalloc@iopf_queue_add_device')) ret = 'ENOMEM';
  else {
    const param = { dev, queue, faults: [], partial: [] } as unknown as IommuFaultParam;
    hide(param, 'lock', mutex_init(queue.kernel, '&fault_param->lock'));
    queue.devices.unshift(param); // list_add
    faultParams.set(dev, param);
  }
  yield* mutex_unlock(queue.lock);
  return ret;
}

/**
 * io-pgfault.c: iopf_queue_remove_device: partial faults are dropped and every group still
 * awaiting a response is answered IOMMU_PAGE_RESP_INVALID and freed. (Work already queued for
 * such a group still runs later, on freed memory: recorded as a WARN here.)
 */
export function* iopf_queue_remove_device(queue: IopfQueue, dev: Device): Co {
  const param = faultParams.get(dev);
  if (param === undefined || param.queue !== queue) {
    warn(queue.kernel, `iopf_queue_remove_device: ${dev.hw.name} not on ${queue.name}`);
    return;
  }
  yield* mutex_lock(queue.lock);
  yield* mutex_lock(param.lock);
  param.partial.length = 0;
  for (const group of [...param.faults]) {
    const iopf = group.last_fault;
    yield* dev.iommu.ops.page_response!(dev, iopf, { pasid: iopf.prm.pasid, grpid: iopf.prm.grpid, code: 'invalid' });
    param.faults.splice(param.faults.indexOf(group), 1);
    iopf_free_group(group);
  }
  queue.devices.splice(queue.devices.indexOf(param), 1);
  yield* mutex_unlock(param.lock);
  yield* mutex_unlock(queue.lock);
  faultParams.delete(dev);
}

/** io-pgfault.c: iopf_free_group. */
export function iopf_free_group(group: IopfGroup): void {
  group.freed = true;
}

/** include/linux/iommu.h: IOMMU_NO_PASID, the RID's entry in the pasid_array. */
export const IOMMU_NO_PASID = 0;

/**
 * io-pgfault.c: find_fault_handler (v7.0-rc5): the attach handle at the fault's PASID, or at
 * the RID for a fault without one, if its domain takes faults. (No driver here has a
 * user-managed PASID table, so a missing PASID handle is not looked up on the RID.)
 */
function find_fault_handler(dev: Device, evt: IopfFault): IommuSva | undefined {
  const pasid = (evt.prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) !== 0 ? evt.prm.pasid : IOMMU_NO_PASID;
  const handle = iommu_attach_handle_get(dev.group, pasid);
  if (typeof handle === 'string' || handle.domain.iopf_handler === undefined) return undefined;
  return handle;
}

/** io-pgfault.c: iopf_error_response. */
function* iopf_error_response(dev: Device, evt: IopfFault): Co {
  yield* dev.iommu.ops.page_response!(dev, evt, { pasid: evt.prm.pasid, grpid: evt.prm.grpid, code: 'invalid' });
}

/** The fault's PASID, or -1 without PASID_VALID. */
const faultPasid = (f: IopfFault): number => ((f.prm.flags & IOMMU_FAULT_PAGE_REQUEST_PASID_VALID) !== 0 ? f.prm.pasid : -1);

/**
 * io-pgfault.c: iopf_group_alloc (v7.0-rc5): the last fault plus the partial ones of its
 * group, now pending. When the group's kzalloc fails the caller's static abort group stands in
 * (returned with `aborted`): it is built and made pending the same way, because the request
 * must still be answered through it. The partial ones are matched by PRG index alone, so a
 * request of another PASID left there (finding iopf-stale-partial) joins the group and is
 * handled against its mm; the proposed fix matches the PASID too.
 */
function* iopf_group_alloc(param: IommuFaultParam, evt: IopfFault): Co<{ group: IopfGroup; aborted: boolean }> {
  const faults: IopfFault[] = [];
  const kernel = param.queue.kernel;
  // kzalloc(sizeof(*group), GFP_KERNEL); NULL: group = abort_group.
  const aborted = kernel.shouldFail('kzalloc@iopf_group_alloc');
  // The partial list and the pending list change under iopf_param->lock: an answer or a
  // device removal on another CPU walks them under it.
  yield* mutex_lock(param.lock);
  // list_for_each_entry_safe from the partial list's head (newest first: report_partial_fault
  // list_adds), each list_move'd to the head of group->faults: the group holds them oldest first.
  for (let i = 0; i < param.partial.length;) {
    const p = param.partial[i]!;
    const mine = p.prm.grpid === evt.prm.grpid &&
      (faultPasid(p) === faultPasid(evt) || !kernel.fixes.has('iopf-stale-partial'));
    if (!mine) {
      i++;
      continue;
    }
    if (faultPasid(p) !== faultPasid(evt)) noteFinding(kernel, 'iopf-stale-partial');
    param.partial.splice(i, 1);
    faults.unshift(p);
  }
  faults.push(evt);
  if (faults.length > 1) iopf_counts(param.queue.kernel).multiGroups++;
  const group: IopfGroup = { last_fault: evt, faults, fault_param: param, attach_handle: undefined, work: undefined, freed: false };
  param.faults.unshift(group); // list_add(&group->pending_node, &iopf_param->faults)
  yield* mutex_unlock(param.lock);
  return { group, aborted };
}

/**
 * io-pgfault.c: __iopf_free_group (v7.0-rc5): the group's partial faults are kfree()d and its
 * fault_param reference put, the group itself is not: the abort group lives on the reporter's
 * stack. (Neither the faults nor the reference are objects here.)
 */
function __iopf_free_group(_group: IopfGroup): void {}

/**
 * io-pgfault.c: iommu_report_device_fault (v7.0-rc5); `kernel` is the reporting driver's world
 * (the kernel has one). A fault with no attach handle (or no
 * iopf_handler) at its PASID or RID, or a device with no fault queue, is answered INVALID at
 * once (-EINVAL); a non-last request waits on the partial list, unanswered; a handler that
 * cannot take the group gets it answered FAILURE.
 *
 * The INVALID answer goes out for a non-last request too (finding iopf-partial-error-response):
 * the device's group is answered before its LAST, and once more at the LAST. The proposed fix
 * answers only the LAST, as VT-d's handle_bad_prq_event always has.
 */
export function* iommu_report_device_fault(kernel: Kernel, dev: Device, evt: IopfFault): Co<Errno | 0> {
  if (kernel.fault === 'B53') return yield* iommu_report_device_fault_before_b58b133e680b(kernel, dev, evt);
  const handle = find_fault_handler(dev, evt);
  const param = handle === undefined ? undefined : faultParams.get(dev);
  // WARN_ON: "a fault capable domain is attached but no iopf_param is setup"
  if (handle !== undefined && param === undefined) warn(kernel, `iommu_report_device_fault: ${dev.hw.name} has no iopf_param`);
  const last = (evt.prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) !== 0;
  if (handle === undefined || param === undefined) {
    iopf_counts(kernel).noHandler++;
    if (!last) {
      if (kernel.fixes.has('iopf-partial-error-response')) return 'EINVAL';
      noteFinding(kernel, 'iopf-partial-error-response');
    }
    yield* iopf_error_response(dev, evt);
    return 'EINVAL';
  }
  if (!last) {
    // report_partial_fault: under iopf_param->lock; not acknowledged.
    yield* mutex_lock(param.lock);
    param.partial.unshift(evt);
    yield* mutex_unlock(param.lock);
    // B50: before fca5b78511e9 the return here was lost (3dfa64aecbaf): the partial request
    // went on to become the last of a group of its own, handled and answered before its LAST.
    if (kernel.fault !== 'B50') return 0;
  }
  const { group, aborted } = yield* iopf_group_alloc(param, evt);
  if (!aborted) {
    group.attach_handle = handle;
    if (handle.domain.iopf_handler!(group) === 0) return 0;
  }
  yield* iopf_abort(kernel, dev, group, aborted);
  return 0;
}

/**
 * io-pgfault.c: iommu_report_device_fault's err_abort (v7.0-rc5): "iopf with pasid %d
 * aborted", the group answered Response Failure, then freed (the abort group only of what it
 * holds). Failure, not Invalid: a PCIe endpoint stops sending page requests for good (VT-d and
 * AMD pass the code on; SMMUv3 aborts the stall).
 */
function* iopf_abort(kernel: Kernel, dev: Device, group: IopfGroup, aborted: boolean): Co {
  if (kernel.trace) kernel.trace.event('core', 'iopf', `${dev.hw.name}: iopf with pasid ${group.last_fault.prm.pasid} aborted`);
  yield* iopf_group_response(group, 'failure');
  if (aborted) __iopf_free_group(group);
  else iopf_free_group(group);
}

/**
 * B53: io-pgfault.c: iommu_report_device_fault as v6.11-rc4 had it, before b58b133e680b
 * ("iommu: Handle iommu faults for a bad iopf setup", v6.11-rc5): the fault parameter is looked
 * up first and a device without one is only WARNed about (no answer: the endpoint waits for
 * good, an SMMU stall is never resumed); a non-last request goes to the partial list whether or
 * not anything handles its PASID; the attach handle is looked up only after the group is
 * allocated, and a group nothing handles takes the err_abort path: answered Response Failure,
 * which disables the endpoint's PRI, where the fix answers Invalid.
 */
function* iommu_report_device_fault_before_b58b133e680b(kernel: Kernel, dev: Device, evt: IopfFault): Co<Errno | 0> {
  const param = faultParams.get(dev);
  if (param === undefined) {
    warn(kernel, `iommu_report_device_fault: ${dev.hw.name} has no iopf_param`);
    return 0;
  }
  if ((evt.prm.flags & IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE) === 0) {
    yield* mutex_lock(param.lock);
    param.partial.unshift(evt);
    yield* mutex_unlock(param.lock);
    return 0;
  }
  const { group, aborted } = yield* iopf_group_alloc(param, evt);
  const handle = aborted ? undefined : find_fault_handler(dev, evt);
  if (handle !== undefined) {
    group.attach_handle = handle;
    if (handle.domain.iopf_handler!(group) === 0) return 0;
  }
  yield* iopf_abort(kernel, dev, group, aborted);
  return 0;
}

/**
 * io-pgfault.c: iopf_queue_discard_partial (v7.0-rc5): after a hardware queue overflow the
 * LAST of a group may be lost, so every device's partial requests go: under queue->lock (the
 * device list) and each device's iopf_param->lock (its partial list), the locking of
 * cc7338e9d807. The VT-d PRQ thread is its only caller.
 */
export function* iopf_queue_discard_partial(queue: IopfQueue): Co<Errno | 0> {
  yield* mutex_lock(queue.lock);
  for (const param of queue.devices) {
    yield* mutex_lock(param.lock);
    param.partial.length = 0;
    yield* mutex_unlock(param.lock);
  }
  yield* mutex_unlock(queue.lock);
  return 0;
}

/** Harness-side query, no kernel counterpart: whether the device keeps partial requests of `pasid`. */
export function iopf_has_partial(dev: Device, pasid: number): boolean {
  return faultParams.get(dev)?.partial.some((f) => faultPasid(f) === pasid) ?? false;
}

/**
 * No mainline counterpart (the proposed fix of finding iopf-stale-partial, after the
 * iopf_queue_discard_dev_pasid RFC): at a PASID's detach, after iopf_queue_flush_dev, the
 * device's partial requests of that PASID go, since the device stopped the PASID and their LAST
 * will never come. Mainline keeps them: noted as the finding when there are any.
 */
export function iopf_queue_discard_dev_pasid(kernel: Kernel, dev: Device, pasid: number): void {
  const param = faultParams.get(dev);
  if (param === undefined || !param.partial.some((f) => faultPasid(f) === pasid)) return;
  if (!kernel.fixes.has('iopf-stale-partial')) {
    noteFinding(kernel, 'iopf-stale-partial');
    return;
  }
  let kept = 0;
  for (const f of param.partial) if (faultPasid(f) !== pasid) param.partial[kept++] = f;
  param.partial.length = kept;
}

/** io-pgfault.c: iopf_group_response: respond once, only while the group is still pending. */
export function* iopf_group_response(group: IopfGroup, status: PageResponseCode): Co {
  const param = group.fault_param;
  const iopf = group.last_fault;
  const dev = param.dev;
  const kernel = param.queue.kernel;
  yield* mutex_lock(param.lock);
  const i = param.faults.indexOf(group);
  if (i >= 0) { // list_empty(&group->pending_node): answered already
    yield* dev.iommu.ops.page_response!(dev, iopf, { pasid: iopf.prm.pasid, grpid: iopf.prm.grpid, code: status });
    param.faults.splice(param.faults.indexOf(group), 1); // list_del_init(&group->pending_node)
  }
  yield* mutex_unlock(param.lock);
  if (i >= 0 && status === 'success') successes.set(kernel, (successes.get(kernel) ?? 0) + group.faults.length);
}

/**
 * kernel/workqueue.c: queue_work on the iopf queue's workqueue: a kworker task will run the
 * item (WQ_UNBOUND: in any order, concurrently with other items).
 */
export function iopf_queue_work(group: IopfGroup, work: (group: IopfGroup) => Co): Errno | 0 {
  const queue = group.fault_param.queue;
  group.work = work;
  const item: IopfWork = { group, task: undefined, finished: false };
  item.task = spawn(queue.kernel, `kworker/${queue.name}:${++queue.nwork}`, 'kworker', process_one_work(queue, item));
  queue.works.push(item);
  queue.wq.push(group);
  return 0;
}

/**
 * kernel/workqueue.c: process_one_work: the item runs with the workqueue's lockdep map held.
 * An item that sleeps for good on a lock its flusher holds never finishes: the flush's wait
 * reports the deadlock (sched.ts `wait`, or the group's deadlock report).
 */
function* process_one_work(queue: IopfQueue, item: IopfWork): Co {
  const kernel = queue.kernel;
  const group = item.group;
  if (group.freed) warn(kernel, `${queue.name}: iopf work runs on a freed group (PASID ${group.last_fault.prm.pasid})`);
  // The work's first access is group->attach_handle->domain (iommu_sva_handle_iopf: ->mm):
  // KASAN's report if the attach that published the handle failed or was undone meanwhile. A
  // handle the bind's own unwind freed is reported in words of its own: no known finding's
  // path (each outlives an unbind) explains it, since a correct core publishes the handle only
  // after every device's attach succeeded (R04, 5e9f822c9c68).
  const h = group.attach_handle;
  if (h !== undefined && (h.freed || h.domain.freed)) {
    const pasid = group.last_fault.prm.pasid;
    warn(kernel, h.freedBy === 'iommu_sva_bind_device'
      ? `BUG: KASAN: slab-use-after-free in iommu_sva_handle_iopf on attach handle ${h.id}, freed by the failed iommu_sva_bind_device (PASID ${pasid})`
      : `BUG: KASAN: slab-use-after-free in iommu_sva_handle_iopf: ${h.freed ? `attach handle ${h.id}` : `domain ${h.domain.id} of handle ${h.id}`} freed (PASID ${pasid})`);
  }
  lock_map_acquire(kernel, queue.map);
  try {
    yield* group.work!(group);
    item.finished = true;
    const i = queue.works.indexOf(item);
    queue.works.splice(i, 1);
    queue.wq.splice(i, 1);
  } finally {
    lock_map_release(kernel, queue.map);
  }
}

/**
 * kernel/workqueue.c: flush_workqueue (v7.0-rc5): takes the workqueue's lockdep map for a
 * moment (a flusher depends on every item), then waits until every item queued before the
 * flush has finished, naming the oldest unfinished one as the task it waits for: the
 * sequential path runs them in place in queue order. An item that sleeps for good on a lock the
 * flusher holds never finishes: the wait reports the deadlock and the flush does not complete
 * (returns false).
 */
export function* flush_workqueue(queue: IopfQueue): Co<boolean> {
  const kernel = queue.kernel;
  lock_map_acquire(kernel, queue.map);
  lock_map_release(kernel, queue.map);
  const what = `flush_workqueue(${queue.name})`;
  // Every item queued before the flush, not only the last: an unbound workqueue may finish the
  // last before an earlier one (amd run --groups seed 901745: serviceFaults returned while a
  // work item was still to answer).
  const queued = queue.works.slice();
  for (const item of queued) {
    if (!item.finished && !(yield* wait(kernel, what, () => item.finished, () => item.task))) return false;
  }
  return true;
}

/**
 * io-pgfault.c: iopf_queue_flush_dev: "ensure that all queued faults have been processed"; the
 * driver must have flushed its low-level queue first. A device not on a queue is a driver bug
 * (the kernel's WARN_ON: callers here record it, since only they know the Kernel).
 */
export function* iopf_queue_flush_dev(dev: Device): Co<Errno | 0> {
  const param = faultParams.get(dev);
  if (param === undefined) return 'ENODEV';
  yield* flush_workqueue(param.queue);
  return 0;
}

/**
 * No kernel counterpart: the scheduler giving the fault machinery CPU time. Each queue's fault
 * thread runs as a task (reporting what its hardware queued), then its workqueue is flushed.
 * Returns how many requests were answered SUCCESS (with their group) meanwhile.
 */
export function* iopf_run_all(kernel: Kernel): Co<number> {
  const before = successes.get(kernel) ?? 0;
  for (const q of iopf_queues(kernel)) {
    // The driver's threaded fault IRQ, woken.
    const irq = spawn(kernel, `irq/${q.name}`, 'irq', q.irq_thread());
    yield* wait(kernel, 'the scheduler', () => irq.done, () => irq);
    yield* flush_workqueue(q);
  }
  return (successes.get(kernel) ?? 0) - before;
}
