import { describe, expect, test } from 'vitest';
import { coreOf, createKernel } from '../../../src/impl/core/kernel.js';
import { type IopfGroup, type IopfQueue, flush_workqueue, iopf_queue_alloc, iopf_queue_work } from '../../../src/impl/core/iopf.js';
import { type Co, preemptPoint, schedOf, spawn, stepTask, sync } from '../../../src/impl/core/sched.js';
import { defaultTopology } from '../../../src/shared/index.js';

const P = preemptPoint('test: work item halfway');

/** A group on `queue` (only what the workqueue reads of it). */
const groupOn = (queue: IopfQueue, pasid: number): IopfGroup =>
  ({ last_fault: { prm: { pasid } }, faults: [], fault_param: { queue }, attach_handle: undefined, work: undefined, freed: false }) as unknown as IopfGroup;

function setup() {
  const k = createKernel(defaultTopology('vtd'));
  const q = iopf_queue_alloc(k, 'dmar9-iopfq', function* () {});
  const log: string[] = [];
  function* work(g: IopfGroup): Co {
    log.push(`start ${g.last_fault.prm.pasid}`);
    yield P;
    log.push(`end ${g.last_fault.prm.pasid}`);
  }
  return { k, q, log, queue: (pasid: number) => iopf_queue_work(groupOn(q, pasid), work) };
}

describe('The IOPF workqueue as kworker tasks (WQ_UNBOUND)', () => {
  test('queue_work spawns one kworker task per item, named after the queue', () => {
    const { k, q, queue } = setup();
    queue(1);
    queue(2);
    expect(q.works.map((w) => w.task!.name)).toEqual(['kworker/dmar9-iopfq:1', 'kworker/dmar9-iopfq:2']);
    expect(schedOf(k).tasks.map((t) => t.kind)).toEqual(['kworker', 'kworker']);
  });

  test('A concurrent driver may run the later item first and interleave the two', () => {
    const { k, q, log, queue } = setup();
    schedOf(k).concurrent = true;
    queue(1);
    queue(2);
    const [w1, w2] = q.works.map((w) => w.task!);
    stepTask(k, w2!);
    stepTask(k, w1!);
    while (stepTask(k, w2!) !== undefined);
    while (stepTask(k, w1!) !== undefined);
    expect(log).toEqual(['start 2', 'start 1', 'end 2', 'end 1']);
    expect(q.works).toEqual([]);
    expect(q.wq).toEqual([]);
  });

  test('Sequentially a flush runs every queued item in place, in queue order', () => {
    const { k, q, log, queue } = setup();
    queue(1);
    queue(2);
    expect(sync(k, flush_workqueue(q))).toBe(true);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
    expect(q.works).toEqual([]);
  });

  test('A concurrent flush blocks until every item queued before it finished, whatever their order', () => {
    const { k, q, queue } = setup();
    schedOf(k).concurrent = true;
    queue(1);
    queue(2);
    const [w1, w2] = q.works.map((w) => w.task!);
    const flusher = spawn(k, 'flusher', 'cpu', flush_workqueue(q));
    expect(stepTask(k, flusher)?.kind).toBe('block');
    while (stepTask(k, w2!) !== undefined);
    expect(flusher.runnable()).toBe(false); // item 1, the oldest, still runs
    while (stepTask(k, w1!) !== undefined);
    expect(flusher.runnable()).toBe(true);
    queue(3); // queued after the flush began: not waited for
    expect(stepTask(k, flusher)).toBeUndefined();
    expect(flusher.result).toBe(true);
    expect(q.works.length).toBe(1);
    expect(coreOf(k).warnings).toEqual([]);
  });

  test('A concurrent flush waits for a middle item still running when the oldest and the last are done', () => {
    const { k, q, queue } = setup();
    schedOf(k).concurrent = true;
    queue(1);
    queue(2);
    queue(3);
    const [w1, w2, w3] = q.works.map((w) => w.task!);
    const flusher = spawn(k, 'flusher', 'cpu', flush_workqueue(q));
    expect(stepTask(k, flusher)?.kind).toBe('block');
    stepTask(k, w2!); // item 2 halfway
    while (stepTask(k, w3!) !== undefined);
    while (stepTask(k, w1!) !== undefined);
    expect(flusher.runnable()).toBe(true);
    expect(stepTask(k, flusher)?.kind).toBe('block'); // item 2 still runs
    while (stepTask(k, w2!) !== undefined);
    expect(stepTask(k, flusher)).toBeUndefined();
    expect(flusher.result).toBe(true);
    expect(q.works).toEqual([]);
  });
});
