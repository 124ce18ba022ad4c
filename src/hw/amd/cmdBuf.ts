import type { TraceSink } from '../../shared/index.js';
import type { Counters } from '../counters.js';
import { formatCmd, validateCmd, type AmdCmd, type AmdCmdKind } from './commands.js';

/** Counter names per command kind, built once: the submit path builds no strings. */
const SUBMITTED: Readonly<Record<AmdCmdKind, string>> = {
  INVALIDATE_IOMMU_PAGES: 'cmd.INVALIDATE_IOMMU_PAGES',
  INVALIDATE_IOTLB_PAGES: 'cmd.INVALIDATE_IOTLB_PAGES',
  INVALIDATE_DEVTAB_ENTRY: 'cmd.INVALIDATE_DEVTAB_ENTRY',
  COMPLETION_WAIT: 'cmd.COMPLETION_WAIT',
  COMPLETE_PPR_REQUEST: 'cmd.COMPLETE_PPR_REQUEST',
};

/**
 * The command buffer (48882 §2.4): software writes commands at the tail; the IOMMU executes
 * them in order. Software may assume nothing has taken effect until a COMPLETION_WAIT after it
 * has stored its semaphore, so the model runs the buffer only at two points: a COMPLETION_WAIT
 * (everything before it, then the store) and a COMPLETE_PPR_REQUEST, which the kernel issues
 * without a wait (amd_iommu_complete_ppr): the hardware still consumes it, in order, and the
 * response must reach the endpoint for the retry to happen.
 */
export class CommandBuffer {
  private readonly pending: AmdCmd[] = [];
  /** The completion semaphore in memory (iommu->cmd_sem): the last COMPLETION_WAIT's store. */
  sem = 0;
  completedWaits = 0;

  constructor(
    private readonly unit: string,
    private readonly counters: Counters,
    private readonly apply: (cmd: AmdCmd) => void,
    private readonly trace: TraceSink | undefined,
  ) {}

  submit(cmd: AmdCmd): void {
    validateCmd(this.unit, cmd);
    this.counters.bump(SUBMITTED[cmd.kind]);
    if (this.trace) this.trace.event('queue', this.unit, `submit ${formatCmd(cmd)}`);
    this.pending.push(cmd);
    if (cmd.kind === 'COMPLETION_WAIT' || cmd.kind === 'COMPLETE_PPR_REQUEST') this.run();
  }

  /** Commands written and not yet executed. */
  get pendingCount(): number {
    return this.pending.length;
  }

  get queued(): readonly AmdCmd[] {
    return this.pending;
  }

  private run(): void {
    while (this.pending.length > 0) {
      const c = this.pending.shift()!;
      if (c.kind === 'COMPLETION_WAIT') {
        this.sem = c.data;
        this.completedWaits++;
        if (this.trace) this.trace.event('queue', this.unit, `COMPLETION_WAIT ${c.data} stored`);
        continue;
      }
      this.apply(c);
    }
  }
}
