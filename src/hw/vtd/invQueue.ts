import type { TraceSink } from '../../shared/index.js';
import type { Counters } from '../counters.js';
import { hwWork } from '../work.js';
import { checkDesc, formatDesc, type QiDesc, type QiKind, type QiLimits } from './descriptor.js';

/** What applying one descriptor did: a device-TLB invalidation to a gone device never completes. */
export type DescResult = 'done' | 'timeout';

/** Counter names per descriptor kind, built once: the submit path builds no strings. */
const SUBMITTED: Readonly<Record<QiKind, string>> = {
  pc: 'qi.pc', piotlb: 'qi.piotlb', iotlb_dsi: 'qi.iotlb_dsi', iotlb_psi: 'qi.iotlb_psi',
  devtlb: 'qi.devtlb', wait: 'qi.wait', prs: 'qi.prs',
};

/**
 * The invalidation queue (VT-d spec 6.5.2). Software submits descriptors at the tail; the
 * hardware fetches and executes them in order, and a wait descriptor completes only once every
 * descriptor before it has taken effect. The model makes that the only moment anything takes
 * effect: descriptors wait in `pending` until a wait is submitted, so an entry survives its
 * invalidation until the wait.
 *
 * A device-TLB invalidation that never completes (surprise-removed device) sets ITE
 * (invalidation time-out error) when the next wait is reached: that wait is aborted and the
 * hardware fetches nothing more until software clears ITE.
 */
/** QI_LENGTH (intel/iommu.h): descriptor slots in the ring. */
export const QI_LENGTH = 256;

export class InvalidationQueue {
  private readonly pending: QiDesc[] = [];
  /**
   * The ring registers, as slot indices: IQT (software's tail, one past the last descriptor
   * submitted) and IQH (the hardware's head, one past the last descriptor fetched). At an ITE
   * the hardware stops right after the aborted wait, so IQH - 1 is that wait.
   */
  iqt = 0;
  iqh = 0;
  /** Wait descriptors among `pending` (the queue runs only while one is there). */
  private waitsPending = 0;
  private timedOut = false;
  /** FSTS.ITE: set by a time-out, cleared only by software. */
  private iteFlag = false;
  /** Waits completed, and waits aborted by an ITE. */
  completedWaits = 0;
  abortedWaits = 0;

  constructor(
    private readonly limits: QiLimits,
    private readonly counters: Counters,
    private readonly apply: (d: QiDesc) => DescResult,
    private readonly trace: TraceSink | undefined,
  ) {}

  /** Queue one descriptor; a wait makes the hardware run the queue up to it. */
  submit(desc: QiDesc): void {
    hwWork();
    checkDesc(desc, this.limits);
    this.counters.bump(SUBMITTED[desc.kind]);
    if (this.trace) this.trace.event('queue', this.limits.unit, `submit ${formatDesc(desc)}`);
    this.pending.push(desc);
    this.iqt = (this.iqt + 1) % QI_LENGTH;
    if (desc.kind !== 'wait') return;
    this.waitsPending++;
    if (!this.iteFlag) this.run();
  }

  /** Invalidation time-out error pending: a device never answered a device-TLB invalidation. */
  get ite(): boolean {
    return this.iteFlag;
  }

  /** Descriptors submitted but not yet executed. */
  get pendingCount(): number {
    return this.pending.length;
  }

  /** Software clears FSTS.ITE; the hardware resumes fetching. */
  clearIte(): void {
    if (!this.iteFlag) return;
    this.iteFlag = false;
    if (this.waitsPending > 0) this.run();
  }

  private run(): void {
    while (this.pending.length > 0 && !this.iteFlag) {
      const d = this.pending.shift()!;
      this.iqh = (this.iqh + 1) % QI_LENGTH;
      if (d.kind !== 'wait') {
        if (this.apply(d) === 'timeout') this.timedOut = true;
        continue;
      }
      this.waitsPending--;
      if (this.timedOut) {
        this.timedOut = false;
        this.iteFlag = true;
        this.abortedWaits++;
        this.counters.bump('qi.ite');
        if (this.trace) this.trace.event('queue', this.limits.unit, 'wait aborted: invalidation time-out (ITE)');
        return;
      }
      this.apply(d);
      this.completedWaits++;
      if (this.trace) this.trace.event('queue', this.limits.unit, 'wait done');
      if (this.waitsPending === 0) return;
    }
  }
}
