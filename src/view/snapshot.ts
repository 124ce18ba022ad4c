/**
 * The state inspector's data: after every step of a trace, the kernel objects (mm_structs,
 * PASIDs, handles, group pasid_arrays) and each IOMMU's tables, caches and queues, as plain
 * JSON of short lines. The trace is re-executed (no fast-check) with its fault on; the units are
 * read through what they expose to invariants, recognised by shape so the view names no driver.
 */
import { type Session, checkedStep, openSession } from '../harness/index.js';
import type { World } from '../impl/index.js';
import { slotState } from '../impl/index.js';
import type { PciDevice } from '../hw/device.js';
import { KERNEL_OWNER } from '../hw/mem.js';
import type { SmmuV3 } from '../hw/smmuv3/index.js';
import type { VtdUnit } from '../hw/vtd/unit.js';
import { isFaultId } from '../shared/index.js';
import { abstractView, precondition } from '../spec/index.js';
import { type Checked, bad, formatCommand, good } from '../trace/index.js';
import type { Trace } from '../trace/index.js';

/** One section (a kernel object kind, a table, a cache) → its entries, one line each. */
export type Snapshot = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

const hex = (n: number): string => `0x${n.toString(16)}`;

const kernelOf = (w: World): Record<string, string[]> => {
  const mms: string[] = [];
  for (let slot = 0; slot < w.mms.length; slot++) {
    const mm = w.mms[slot];
    if (mm === undefined) continue;
    const pasid = mm.iommu_mm === undefined ? 'none' : String(mm.iommu_mm.pasid);
    mms.push(`mm${slot}: ${slotState(w, slot)}, mm_users ${mm.mm_users}, mm_count ${mm.mm_count}, PASID ${pasid}, ` +
      `${mm.iommu_mm?.sva_domains.length ?? 0} SVA domain(s), ${mm.notifiers.length} notifier(s)`);
  }
  const bonds: string[] = [];
  for (const [slot, row] of w.fds.entries()) {
    for (const [dev, fd] of row.entries()) {
      if (fd !== undefined) bonds.push(`mm${slot} ↔ dev${dev}: iommu_sva ${fd.handle.id}, ${fd.binds} bind(s), domain ${fd.handle.domain.id}`);
    }
  }
  const groups: string[] = [];
  for (const g of w.groups) {
    for (const [pasid, e] of g.pasid_array) {
      const what = e.kind === 'reserved' ? 'XA_ZERO_ENTRY' : e.kind === 'handle' ? `handle ${e.handle.id} (domain ${e.handle.domain.id})` : `domain ${e.domain.id}`;
      groups.push(`group ${g.id} PASID ${pasid}: ${what}`);
    }
  }
  return { 'mm_struct': mms, 'iommu_sva bonds': bonds, 'group->pasid_array': groups };
};

const isVtd = (u: object): u is VtdUnit => 'psc' in u && 'iotlb' in u && 'pasidCache' in u;
const isSmmu = (u: object): u is SmmuV3 => 'walkCache' in u && 'tlb' in u && 'streamTable' in u;

const vtdOf = (u: VtdUnit, devices: readonly PciDevice[]): Record<string, string[]> => {
  const table: string[] = [];
  for (const d of devices) {
    for (const { pasid, entry: e } of u.pasidTable(d.sid)?.entries() ?? []) {
      table.push(`${d.name} PASID ${pasid}: ${e.present ? `present ${e.pgtt} DID ${e.did} FLPTR frame ${e.flptr} ${e.levels}-level` : 'not present'}${e.fpd ? ' FPD' : ''}`);
    }
  }
  return {
    'PASID table entries': table,
    'PASID cache': u.pasidCache.entries().map((e) => `sid ${e.sid} PASID ${e.pasid}: DID ${e.entry.did}`),
    'IOTLB': u.iotlb.entries().map((e) => `DID ${e.did} PASID ${e.pasid} vpn ${hex(e.vpn)} → frame ${e.frame}${e.write ? ' rw' : ' r'}`),
    'paging-structure cache': u.psc.entries().map((e) => `DID ${e.did} PASID ${e.pasid} level ${e.level} prefix ${hex(e.prefix)} → table ${e.frame}`),
    'invalidation queue': [`${u.queue.pendingCount} descriptor(s) pending${u.ite ? ', ITE set (time-out)' : ''}`],
  };
};

const smmuOf = (u: SmmuV3, devices: readonly PciDevice[], pasids: readonly number[]): Record<string, string[]> => {
  const ste: string[] = [];
  const cds: string[] = [];
  for (const d of devices) {
    const s = u.streamTable.read(d.sid);
    ste.push(`sid ${d.sid} (${d.name}): ${s.v ? `valid ${s.config}` : 'invalid'}${s.cdTable === undefined ? '' : `, CD table S1CDMax ${s.s1cdmax}`}`);
    for (const ssid of pasids) {
      const cd = ssid < 2 ** s.s1cdmax ? s.cdTable?.fetch(ssid) : undefined;
      if (cd?.v === true) cds.push(`sid ${d.sid} ssid ${ssid}: ASID ${cd.asid} TTB0 frame ${cd.ttb0}${cd.epd0 ? ' EPD0' : ''}${cd.s ? ' S' : ''}`);
    }
  }
  return {
    'stream table (STEs)': ste,
    'context descriptors': cds,
    'CD cache': u.config.cdEntries().map((e) => `sid ${e.sid} ssid ${e.ssid}: ASID ${e.cd.asid}`),
    'TLB': u.tlb.entries().map((e) => `ASID ${e.asid} vpn ${hex(e.vpn)} → frame ${e.frame}${e.write ? ' rw' : ' r'}`),
    'walk cache': u.walkCache.entries().map((e) => `ASID ${e.asid} level ${e.level} prefix ${hex(e.prefix)} → table ${e.table}`),
    'command queue': [`${u.pending.length} command(s) pending, ${u.cmdqErrors.length} skipped with CERROR_ILL`],
  };
};

/** What each frame a cache entry names is now: a freed or reused frame is the bug made visible. */
const cachedFrames = (w: World, s: Record<string, Record<string, string[]>>): string[] => {
  const frames = new Set<number>();
  for (const [unit, sections] of Object.entries(s)) {
    if (unit === 'kernel') continue;
    for (const lines of Object.values(sections)) for (const l of lines) for (const m of l.matchAll(/→ (?:frame|table) (\d+)/g)) frames.add(Number(m[1]));
  }
  const mem = w.kernel.mem;
  const owner = (f: number): string => (mem.owner(f) === KERNEL_OWNER ? 'kernel' : `owner ${mem.owner(f)}`);
  return [...frames].sort((a, b) => a - b).map((f) => `frame ${f}: ${mem.kind(f)}${mem.kind(f) === 'free' ? '' : ` (${owner(f)})`}`);
};

export const snapshotWorld = (w: World): Snapshot => {
  const out: Record<string, Record<string, string[]>> = { kernel: kernelOf(w) };
  const pasids = [0, ...w.mms.flatMap((mm) => (mm?.iommu_mm === undefined ? [] : [mm.iommu_mm.pasid]))].sort((a, b) => a - b);
  for (const iommu of w.iommus) {
    const devices = w.devices.filter((d) => d.iommu === iommu).map((d) => d.hw);
    const u = iommu.unit;
    out[u.name] = isVtd(u) ? vtdOf(u, devices) : isSmmu(u) ? smmuOf(u, devices, [...new Set(pasids)]) : {};
  }
  out.devices = {
    ATC: w.devices.flatMap((d) => d.hw.atcEntries().map((e) => `${d.hw.name} PASID ${e.pasid} vpn ${hex(e.vpn)} → frame ${e.entry.frame}${e.entry.write ? ' rw' : ' r'}`)),
  };
  out.kernel!['frames the IOMMU caches point at'] = cachedFrames(w, out);
  return out;
};

export interface SnapshotRun {
  /** Before any command, then after each step that ran. */
  readonly states: readonly Snapshot[];
  /** The spec's abstract view at the same points. */
  readonly spec: readonly unknown[];
  readonly session: Session;
}

/** Re-executes the trace with its corpus fault and keeps a snapshot after every step. */
export const snapshotRun = (trace: Trace): Checked<SnapshotRun> => {
  if (trace.fault !== undefined && !isFaultId(trace.fault)) return bad(`fault '${trace.fault}' is not in the corpus: no state to inspect`);
  const session = openSession(trace.topology, { events: true, ...(trace.fault === undefined ? {} : { fault: trace.fault }) });
  const states: Snapshot[] = [snapshotWorld(session.world)];
  const spec: unknown[] = [abstractView(session.spec)];
  for (const [i, cmd] of trace.commands.entries()) {
    if (!precondition(session.spec, cmd)) return bad(`step ${i}: ${formatCommand(cmd)} breaks its caller contract in the state reached`);
    const found = checkedStep(session, cmd);
    states.push(snapshotWorld(session.world));
    spec.push(abstractView(session.spec));
    if (found.length > 0) break;
  }
  return good({ states, spec, session });
};
