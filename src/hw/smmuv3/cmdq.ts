import type { Counters } from '../counters.js';
import { hwWork } from '../work.js';
import type { SmmuCmd, SmmuCmdKind } from './commands.js';
import type { SmmuV3 } from './smmuV3.js';

/** What a submission did: queued (no effect yet), or a CMD_SYNC that completed or timed out. */
export type SyncStatus = 'queued' | 'completed' | 'timeout';

/** Hooks for invariants that must hold at every hardware-visible step. */
export interface SmmuObserver {
  onSubmit?(unit: SmmuV3, cmd: SmmuCmd): void;
  onSync?(unit: SmmuV3, status: SyncStatus): void;
}

/** Counter names per command kind, built once: the submit path builds no strings. */
const SUBMITTED: Readonly<Record<SmmuCmdKind, string>> = {
  CFGI_STE: 'cmdq.CFGI_STE', CFGI_CD: 'cmdq.CFGI_CD', TLBI_NH_ASID: 'cmdq.TLBI_NH_ASID', TLBI_NH_VA: 'cmdq.TLBI_NH_VA',
  TLBI_S2_IPA: 'cmdq.TLBI_S2_IPA', TLBI_NH_ALL: 'cmdq.TLBI_NH_ALL', TLBI_S12_VMALL: 'cmdq.TLBI_S12_VMALL',
  ATC_INV: 'cmdq.ATC_INV', CMD_SYNC: 'cmdq.CMD_SYNC', CMD_RESUME: 'cmdq.CMD_RESUME',
};

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
    hwWork();
    this.counters.bump(SUBMITTED[cmd.kind]);
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
