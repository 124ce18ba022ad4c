import { PciDevice } from '../../../src/hw/device.js';
import { KERNEL_OWNER, PhysMem } from '../../../src/hw/mem.js';
import { CpuPageTable, KernelSpace } from '../../../src/hw/pagetable.js';
import { CD_ZERO, type Cd, type CdTable, type Ste, SmmuV3 } from '../../../src/hw/smmuv3/index.js';

/** Pages of the test mm: four consecutive vpns sharing one PTE table. */
export const A = 0x40000;

export interface Rig {
  mem: PhysMem;
  kernel: KernelSpace;
  pt: CpuPageTable;
  smmu: SmmuV3;
  dev: PciDevice;
  cdt: CdTable;
  frames: number[];
}

export const sva = (asid: number, pt: CpuPageTable): Cd => ({
  ...CD_ZERO, v: true, r: true, a: true, asid, levels: pt.levels, ttb0: pt.pgd,
});

export const s1Ste = (cdt: CdTable): Ste => ({ v: true, config: 's1', cdTable: cdt, s1cdmax: cdt.s1cdmax, s1dss: 'bypass', eats: true });

/** One SMMU, one ATS device on SID 5, an mm with pages A..A+3 mapped (A+3 read-only), CD 1 = ASID 3. */
export const rig = (opts: { rangeInv?: boolean; ats?: boolean; ssidBits?: number } = {}): Rig => {
  const mem = new PhysMem();
  const kernel = new KernelSpace(mem, 4);
  const pt = new CpuPageTable(mem, 4, 0, kernel);
  const frames = [0, 1, 2, 3].map((i) => mem.alloc('data', 0, 100 + i));
  frames.forEach((f, i) => pt.map(A + i, f, i !== 3));
  const smmu = new SmmuV3('smmu0', mem, { asidBits: 8, pasidBits: opts.ssidBits ?? 8, rangeInv: opts.rangeInv ?? true });
  const dev = new PciDevice(0, 5, smmu, 20, opts.ats ?? true, false, mem);
  smmu.connect(dev);
  const cdt = smmu.allocCdTable(opts.ssidBits ?? 8);
  smmu.streamTable.write(5, s1Ste(cdt));
  cdt.write(1, sva(3, pt));
  return { mem, kernel, pt, smmu, dev, cdt, frames };
};

export const sync = (smmu: SmmuV3): string => smmu.submit({ kind: 'CMD_SYNC' });

export { KERNEL_OWNER };
