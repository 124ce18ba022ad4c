import type { Counters } from '../counters.js';
import type { SmmuCmd } from './commands.js';
import type { SmmuV3 } from './smmuV3.js';

/** What a submission did: queued (no effect yet), or a CMD_SYNC that completed or timed out. */
export type SyncStatus = 'queued' | 'completed' | 'timeout';

/** Hooks for invariants that must hold at every hardware-visible step. */
export interface SmmuObserver {
  onSubmit?(unit: SmmuV3, cmd: SmmuCmd): void;
  onSync?(unit: SmmuV3, status: SyncStatus): void;
}

/**
 * The command queue's ordering rule: commands are only queued when submitted; a CMD_SYNC
 * completes every earlier command, in order, and only then are their effects visible. `apply`
 * performs one command's effect and reports false when it cannot complete (an ATC
 * invalidation to a dead endpoint), which makes the sync time out (CERROR_ATC_INV_SYNC).
 */
export class SmmuCmdq {
  private queue: SmmuCmd[] = [];
  /** CMD_SYNCs that timed out, since reset. */
  syncTimeouts = 0;
  lastSyncTimedOut = false;

  constructor(
    private readonly counters: Counters,
    private readonly apply: (cmd: SmmuCmd) => boolean,
  ) {}

  /** Commands submitted and not yet completed by a sync, oldest first. */
  get pending(): readonly SmmuCmd[] {
    return this.queue;
  }

  submit(cmd: SmmuCmd): SyncStatus {
    this.counters.bump(`cmdq.${cmd.kind}`);
    // The driver issues CMD_RESUME without a CMD_SYNC ("it doesn't do anything for RESUME"):
    // the SMMU consumes it at once, and nothing older is ever left unsynced by the kernel.
    if (cmd.kind === 'CMD_RESUME') {
      this.apply(cmd);
      return 'queued';
    }
    if (cmd.kind !== 'CMD_SYNC') {
      this.queue.push(cmd);
      return 'queued';
    }
    const batch = this.queue;
    this.queue = [];
    let ok = true;
    for (const c of batch) if (!this.apply(c)) ok = false;
    this.lastSyncTimedOut = !ok;
    if (!ok) {
      this.syncTimeouts++;
      this.counters.bump('cmdq.sync_timeout');
    }
    return ok ? 'completed' : 'timeout';
  }
}
