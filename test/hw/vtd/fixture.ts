import type { IommuSpec, TraceEvent, TraceSink } from '../../../src/shared/index.js';
import { userVpn } from '../../../src/shared/index.js';
import { PciDevice } from '../../../src/hw/device.js';
import { PhysMem } from '../../../src/hw/mem.js';
import { CpuPageTable, KernelSpace } from '../../../src/hw/pagetable.js';
import { PasidTable, type PasidEntry } from '../../../src/hw/vtd/pasidTable.js';
import { VtdUnit } from '../../../src/hw/vtd/unit.js';

export const SPEC: IommuSpec = { pasidBits: 8, didBits: 8, asidBits: 8, rangeInv: true };

export interface Rig {
  mem: PhysMem;
  kernel: KernelSpace;
  pt: CpuPageTable;
  unit: VtdUnit;
  devs: PciDevice[];
  tables: PasidTable[];
  events: TraceEvent[];
}

/** One VT-d unit, `n` devices (ATS unless told), one mm's page tables, no PASID entry yet. */
export const rig = (opts: { levels?: 4 | 5; devices?: number; ats?: boolean; spec?: Partial<IommuSpec> } = {}): Rig => {
  const levels = opts.levels ?? 4;
  const mem = new PhysMem();
  const kernel = new KernelSpace(mem, levels);
  const pt = new CpuPageTable(mem, levels, 0, kernel);
  const events: TraceEvent[] = [];
  const sink: TraceSink = { event: (lane, actor, text) => void events.push({ lane, actor, text }) };
  const unit = new VtdUnit(0, { ...SPEC, ...opts.spec }, mem, sink);
  const devs: PciDevice[] = [];
  const tables: PasidTable[] = [];
  for (let i = 0; i < (opts.devices ?? 1); i++) {
    const dev = new PciDevice(i, 0x100 + i, unit, 8, opts.ats ?? true, false, mem);
    const table = new PasidTable(256);
    unit.setContext(dev, table);
    devs.push(dev);
    tables.push(table);
  }
  return { mem, kernel, pt, unit, devs, tables, events };
};

export const flEntry = (r: Rig, did = 1): PasidEntry => ({
  present: true, fpd: false, pgtt: 'FL', flptr: r.pt.pgd, slptr: 0, did, levels: r.pt.levels,
});

/** Program an FL entry for `pasid` on every device. */
export const bindAll = (r: Rig, pasid: number, did = 1): void => {
  for (const t of r.tables) {
    t.allocLeaf(pasid);
    t.write(pasid, flEntry(r, did));
  }
};

/** Map harness page p to a fresh data frame whose token is `token`. */
export const mapPage = (r: Rig, page: number, write: boolean, token = 1000 + page): number => {
  const frame = r.mem.alloc('data', 0, token);
  r.pt.map(userVpn(page), frame, write);
  return frame;
};

export const wait = { kind: 'wait', fence: false, drain: false } as const;
