/**
 * What the hardware saw during one step: per IOMMU unit, the descriptors (VT-d) or commands
 * (SMMUv3) submitted and the waits/syncs completed, in order; and each secondary-TLB
 * invalidation the core made (mm, [start, end)) with the slice of every unit's log it produced.
 * The ordering, cost and range invariants read it.
 *
 * Cheap by construction: events are the descriptor objects the driver already built (or a
 * shared completion marker), stored in arrays that begin() rewinds without freeing; nothing is
 * formatted.
 */
import { match } from 'ts-pattern';
import type { SmmuCmd, SmmuV3, SyncStatus } from '../src/hw/smmuv3/index.js';
import type { QiDesc } from '../src/hw/vtd/descriptor.js';
import type { PasidTable } from '../src/hw/vtd/pasidTable.js';
import type { AmdCmd, AmdIommuUnit } from '../src/hw/amd/index.js';
import { dev_iommu_priv_get as amdDevData } from '../src/impl/amd/structs.js';
import type { VtdUnit, WaitStatus } from '../src/hw/vtd/unit.js';
import type { PriEndpoint } from '../src/hw/pri.js';
import { set_invalidate_observer } from '../src/impl/core/mmuNotifier.js';
import { type Task, schedOf } from '../src/impl/core/sched.js';
import type { Kernel } from '../src/impl/core/types.js';
import type { Device, MmStruct } from '../src/impl/index.js';
import type { World } from '../src/impl/index.js';
import type { Platform } from '../src/shared/index.js';
import { InvalidationInputs } from './hardware/invalidationInputs.js';
import { cdTranslates, memoryCd } from './hardware/smmuRead.js';

/** A wait (VT-d) or CMD_SYNC (SMMU) finishing: `ok` false = ITE / sync time-out, 'queued' never logged. */
export interface Completion {
  readonly kind: 'completion';
  readonly ok: boolean;
}
export const COMPLETED: Completion = Object.freeze({ kind: 'completion', ok: true });
export const TIMED_OUT: Completion = Object.freeze({ kind: 'completion', ok: false });

/** One entry of a unit's log. QiDesc, SmmuCmd and AmdCmd kinds do not overlap, so `kind` tells them apart. */
export type ProbeEvent = QiDesc | SmmuCmd | AmdCmd | Completion;

/**
 * One IOMMU unit's log for the current step: events[0 .. n), and aux[k] = what the entry in
 * memory looked like when event k was submitted, for the two events whose order against the
 * entry write matters (0 for every other event):
 * - VT-d `pc` (PASID granularity): bit d set when device d behind the unit still had a present
 *   PASID entry for that PASID (the entry must be cleared before its cache is invalidated);
 * - VT-d `devtlb` with a PASID: 1 when the device's entry for the PASID was present;
 * - SMMU `ATC_INV` with a PASID: 1 when the CD for (sid, ssid) still translated;
 * - SMMU `CFGI_CD`: 1 when the endpoint of `sid` had ATS enabled (its ATC in use);
 * - AMD `INVALIDATE_IOMMU_PAGES` with GN: 1 when the GCR3 entry its (DomainID, PASID) tags was
 *   still valid in memory (the entry must be cleared before it is flushed).
 */
export interface UnitLog {
  readonly index: number;
  readonly name: string;
  n: number;
  readonly events: ProbeEvent[];
  readonly aux: number[];
  /** Waits/syncs that timed out during the step. */
  timeouts: number;
}

/**
 * The secondary-TLB invalidations of the step: invalidation i covered [start[i], end[i]) of
 * mm[i] and produced events [from[i*U + u], to[i*U + u]) of unit u (U = number of units);
 * `inputs` holds, for the same (i, u), what the kernel objects asked of it at the call.
 */
export interface InvalidationLog {
  n: number;
  readonly mm: MmStruct[];
  readonly start: bigint[];
  readonly end: bigint[];
  from: Int32Array;
  to: Int32Array;
  readonly inputs: InvalidationInputs;
  /**
   * interleaved[i]: in a concurrent group, another task ran while invalidation i's notifier
   * call was in progress (a switch, or another task's hardware command inside its slices), so
   * neither its slices nor its inputs (captured at the call) are its own alone: the
   * per-invalidation checks (eachInvalidationSlice) skip it. Always false outside groups.
   */
  readonly interleaved: boolean[];
}

/** I-FAIL's record of the world as a bind starts (lifecycle/failedCall.ts). */
export interface FailFootprint {
  readonly objects: readonly string[];
  /** The mm's PASID then, if it had one, and the hardware entries at it (else at every pasid_array PASID). */
  readonly pasid: number | undefined;
  readonly entries: readonly string[];
  /**
   * With no PASID yet: the one the bind will allocate (the global ida's smallest free id, as
   * iommu_alloc_global_pasid takes it) and the entries already at it.
   */
  readonly next?: { readonly pasid: number; readonly entries: readonly string[] };
}

export interface StepProbe {
  readonly platform: Platform;
  readonly units: readonly UnitLog[];
  readonly invalidations: InvalidationLog;
  /** Set by the step before a bind, an iommufd attach or a replace runs (undefined for other commands). */
  before: FailFootprint | undefined;
  /** Start a new step: forget what the previous step recorded. */
  begin(): void;
  /**
   * A concurrent group switched tasks: every invalidation whose notifier call is still running
   * is interleaved (the kernel objects it was asked about may have changed under it).
   */
  noteSwitch(): void;
}

const record = (log: UnitLog, e: ProbeEvent, aux = 0): void => {
  log.aux[log.n] = aux;
  log.events[log.n++] = e;
};

const completion = (log: UnitLog, status: WaitStatus | SyncStatus): void => {
  if (status === 'queued') return;
  if (status === 'timeout') log.timeouts++;
  record(log, status === 'completed' ? COMPLETED : TIMED_OUT);
};

/** Bit d set for each device d of `behind` whose PASID entry for `pasid` is present in memory. */
function presentMask(behind: readonly Device[], unit: VtdUnit, pasid: number): number {
  let mask = 0;
  for (const d of behind) if (unit.pasidTable(d.hw.sid)?.fetch(pasid)?.present === true) mask |= 1 << d.id;
  return mask;
}

/** Whether the device behind the unit whose GCR3 table is tagged `domid` has a valid entry at `pasid`. */
function gcr3Valid(behind: readonly Device[], domid: number, pasid: number): boolean {
  for (const d of behind) {
    const g = amdDevData(d).gcr3_info;
    if (g.domid === domid) return g.gcr3_tbl?.fetch(pasid)?.valid === true;
  }
  return false;
}

class Probe implements StepProbe {
  readonly units: UnitLog[];
  readonly invalidations: InvalidationLog;
  /** PRI endpoints whose completion logs belong to one step. */
  readonly pri: PriEndpoint[] = [];
  /** VT-d PASID tables whose in-place rewrite log belongs to one step. */
  readonly pasidTables: PasidTable[] = [];
  before: FailFootprint | undefined = undefined;

  constructor(readonly platform: Platform, names: readonly string[]) {
    this.units = names.map((name, index) => ({ index, name, n: 0, events: [], aux: [], timeouts: 0 }));
    const cap = 4 * names.length;
    this.invalidations = {
      n: 0, mm: [], start: [], end: [], from: new Int32Array(cap), to: new Int32Array(cap),
      inputs: new InvalidationInputs(platform, names.length), interleaved: [],
    };
  }

  /** The world's kernel, to tell which task submits a command (set by attachProbe). */
  kernel: Kernel | undefined = undefined;
  /** Invalidations whose notifier call is running, and the task running each. */
  private readonly open: number[] = [];
  private readonly openBy: Task[] = [];

  noteSwitch(): void {
    for (const i of this.open) this.invalidations.interleaved[i] = true;
  }

  /** A unit is about to log an event: an open invalidation of another task is interleaved. */
  noteEvent(): void {
    if (this.open.length === 0) return;
    const t = schedOf(this.kernel!).current;
    for (let j = 0; j < this.open.length; j++) if (this.openBy[j] !== t) this.invalidations.interleaved[this.open[j]!] = true;
  }

  begin(): void {
    for (const u of this.units) {
      u.n = 0;
      u.timeouts = 0;
    }
    this.invalidations.n = 0;
    this.open.length = 0;
    this.openBy.length = 0;
    for (const p of this.pri) p.completions.length = 0;
    for (const t of this.pasidTables) t.liveRewrites.length = 0;
  }

  invalidateBefore(mm: MmStruct, start: bigint, end: bigint): void {
    const inv = this.invalidations;
    const units = this.units.length;
    const i = inv.n++;
    if ((i + 1) * units > inv.from.length) {
      const from = new Int32Array(inv.from.length * 2);
      const to = new Int32Array(inv.to.length * 2);
      from.set(inv.from);
      to.set(inv.to);
      inv.from = from;
      inv.to = to;
    }
    inv.mm[i] = mm;
    inv.interleaved[i] = false;
    this.open.push(i);
    this.openBy.push(schedOf(this.kernel!).current);
    inv.start[i] = start;
    inv.end[i] = end;
    for (let u = 0; u < units; u++) inv.from[i * units + u] = this.units[u]!.n;
    inv.inputs.reserve(i);
    inv.inputs.capture(mm, i);
  }

  invalidateAfter(): void {
    const inv = this.invalidations;
    const units = this.units.length;
    // The current task's innermost open invalidation (n - 1 outside groups).
    const t = schedOf(this.kernel!).current;
    const j = this.openBy.lastIndexOf(t);
    const i = this.open[j]!;
    this.open.splice(j, 1);
    this.openBy.splice(j, 1);
    for (let u = 0; u < units; u++) inv.to[i * units + u] = this.units[u]!.n;
  }
}

/**
 * Hook a probe onto every IOMMU unit of the world and onto its notifier invalidations. Call
 * once per world (it replaces any observer already set on the units), then begin() per step.
 */
export function attachProbe(world: World): StepProbe {
  const platform = world.topology.platform;
  const probe = new Probe(platform, world.iommus.map((i) => i.unit.name));
  probe.kernel = world.kernel;
  for (const d of world.devices) if (d.hw.priState !== undefined) probe.pri.push(d.hw.priState);
  if (platform === 'vtd') {
    for (const d of world.devices) {
      const table = (d.iommu.unit as VtdUnit).pasidTable(d.hw.sid);
      if (table !== undefined) probe.pasidTables.push(table);
    }
  }
  match(platform)
    .with('vtd', () => {
      world.iommus.forEach((iommu, i) => {
        const log = probe.units[i]!;
        const behind = world.devices.filter((d) => d.iommu === iommu);
        (iommu.unit as VtdUnit).observer = {
          onSubmit: (u, desc) => {
            probe.noteEvent();
            record(log, desc, desc.kind === 'pc' && desc.granularity === 'pasid' ? presentMask(behind, u, desc.pasid)
              : desc.kind === 'devtlb' && desc.pasid !== 0 && u.pasidTable(desc.sid)?.fetch(desc.pasid)?.present === true ? 1 : 0);
          },
          onWait: (_u, status) => {
            probe.noteEvent();
            completion(log, status);
          },
        };
      });
    })
    .with('smmuv3', () => {
      world.iommus.forEach((iommu, i) => {
        const log = probe.units[i]!;
        const bySid = new Map(world.devices.filter((d) => d.iommu === iommu).map((d) => [d.hw.sid, d.hw]));
        (iommu.unit as SmmuV3).observer = {
          onSubmit: (u, cmd) => {
            probe.noteEvent();
            record(log, cmd, cmd.kind === 'ATC_INV' ? (cmd.ssv && cdTranslates(memoryCd(u, cmd.sid, cmd.ssid)) ? 1 : 0)
              : cmd.kind === 'CFGI_CD' && bySid.get(cmd.sid)?.atsEnabled === true ? 1 : 0);
          },
          onSync: (_u, status) => {
            probe.noteEvent();
            completion(log, status);
          },
        };
      });
    })
    .with('amd', () => {
      world.iommus.forEach((iommu, i) => {
        const log = probe.units[i]!;
        const behind = world.devices.filter((d) => d.iommu === iommu);
        (iommu.unit as AmdIommuUnit).observer = {
          onSubmit: (_u, cmd) => {
            probe.noteEvent();
            record(log, cmd, cmd.kind === 'INVALIDATE_IOMMU_PAGES' && cmd.gn && gcr3Valid(behind, cmd.domid, cmd.pasid) ? 1 : 0);
          },
          onWait: () => {
            probe.noteEvent();
            record(log, COMPLETED);
          },
        };
      });
    })
    .exhaustive();
  set_invalidate_observer(world.kernel, {
    before: (mm, start, end) => probe.invalidateBefore(mm, start, end),
    after: () => probe.invalidateAfter(),
  });
  return probe;
}
