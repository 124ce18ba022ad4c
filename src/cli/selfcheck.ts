import { PciDevice } from '../hw/device.js';
import { type Anomaly, KERNEL_OWNER, PTE_U, PhysMem, pteFrame } from '../hw/mem.js';
import { CpuPageTable, KernelSpace } from '../hw/pagetable.js';
import { formatToken, kernelToken, kernelVpn, userToken, userVpn } from '../shared/index.js';
import { tableOnPath } from '../hw/radix.js';
import { PasidTable } from '../hw/vtd/pasidTable.js';
import { VtdUnit } from '../hw/vtd/unit.js';
import { amdScenario } from './selfcheckAmd.js';

export interface SelfcheckResult {
  /** What was done and checked, one line each, ending with the pass/fail line. */
  readonly lines: readonly string[];
  readonly failed: number;
}

type Check = (what: string, actual: unknown, expected: unknown) => void;

const kinds = (a: readonly Anomaly[]): string[] => a.map((x) => x.kind);

/**
 * The stale-translation story end to end on the emulated hardware alone: map pages, walk them
 * as the CPU and through a VT-d unit, let an ATS device cache a translation, unmap and free the
 * PTE table, then show each cache that still reaches freed memory until it is invalidated (the
 * ATC, the IOTLB, the paging-structure cache under IH=1), that PhysMem's anomaly log sees every
 * such access, that the freed table frame is the next one reused (LIFO), and that teardown
 * leaves nothing but the kernel's root.
 */
const scenario = (levels: 4 | 5, check: Check): void => {
  const mem = new PhysMem();
  const kernel = new KernelSpace(mem, levels);
  const pt = new CpuPageTable(mem, levels, 0, kernel);
  check('a new mm has only its pgd and the shared kernel root', mem.liveFrames('table').length, 2);

  const pages = [0, 1, 2, 3];
  const frames = pages.map((p) => {
    const f = mem.alloc('data', 0, userToken(0, p, 1));
    pt.map(userVpn(p), f, p !== 1);
    return f;
  });
  check(`mapping pages 0..3 adds ${levels - 2} upper table(s) and 2 PTE tables`, mem.liveFrames('table').length, levels + 2);
  check('the CPU walk finds each page with its write bit', pages.map((p) => pt.translate(userVpn(p))),
    frames.map((frame, p) => ({ frame, write: p !== 1 })));

  // vtd0 with dev0 (ATS) and dev1 (no ATS); PASID 1 of both points at this pgd, DID 1.
  const vtd = new VtdUnit(0, { pasidBits: 20, didBits: 16, asidBits: 16, rangeInv: true }, mem);
  const dev0 = new PciDevice(0, 0, vtd, 20, true, false, mem);
  const dev1 = new PciDevice(1, 1, vtd, 20, false, false, mem);
  for (const dev of [dev0, dev1]) {
    const table = new PasidTable(64);
    table.allocLeaf(1);
    table.write(1, { present: true, fpd: false, pgtt: 'FL', flptr: pt.pgd, slptr: 0, did: 1, levels });
    vtd.setContext(dev, table);
  }
  const read = (dev: PciDevice, vpn: number): string => {
    const r = dev.dma(1, vpn, false);
    return r.ok ? formatToken(r.token) : r.fault;
  };
  check(`a ${levels}-level walk by vtd0 reads each page's content token through PASID 1`,
    pages.map((p) => read(dev1, userVpn(p))), pages.map((p) => formatToken(userToken(0, p, 1))));
  check('walks of live tables log no anomaly', kinds(mem.takeAnomalies()), []);

  const kframe = mem.alloc('data', KERNEL_OWNER, kernelToken(0, 1));
  kernel.map(kernelVpn(0), kframe, true, false);
  const ke = pt.lookup(kernelVpn(0));
  check('vmalloc page k0 is reached from the user pgd, supervisor-only',
    [pteFrame(ke) === kframe, (ke & PTE_U) === 0, pt.translate(kernelVpn(0))], [true, true, undefined]);
  check('a user DMA to k0 faults at the supervisor leaf', read(dev1, kernelVpn(0)), 'vtd0: no-permission');

  check('dev0 reads p3 through PASID 1 and caches it in its ATC', [read(dev0, userVpn(3)), dev0.atcEntries().length], ['mm0.p3#1', 1]);
  const pte23 = tableOnPath(mem, pt.pgd, levels, userVpn(2), 1);
  for (const p of [2, 3]) {
    pt.unmap(userVpn(p));
    mem.free(frames[p]!);
  }
  check('munmap of p2..p3 frees exactly their PTE table', pt.freeEmptyTables(userVpn(2)), [pte23]);

  check('without an ATC invalidation dev0 still reads the freed page', [read(dev0, userVpn(3)), dev0.counters.get('atc.hit')], ['mm0.p3#1', 1]);
  check('the anomaly log records that DMA to a freed frame', kinds(mem.takeAnomalies()), ['dma-freed-frame']);
  dev0.atcInvalidate(1, userVpn(2), 2);
  check('after the ATC invalidation the IOTLB still serves the freed page', [read(dev0, userVpn(3)), kinds(mem.takeAnomalies())],
    ['mm0.p3#1', ['dma-freed-frame']]);

  // Page-selective P_IOTLB of p2..p3 (2 pages, AM 1) with IH=1: the leaves go, the
  // paging-structure cache keeps its pointer to the freed PTE table.
  vtd.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 1, addr: userVpn(2), am: 1, ih: true });
  check('a submitted P_IOTLB takes no effect before its wait', read(dev1, userVpn(3)), 'mm0.p3#1');
  mem.takeAnomalies();
  vtd.submit({ kind: 'wait', fence: false, drain: false });
  // munmap zapped the PTEs before freeing the table, so the stale read finds nothing mapped:
  // the harm is the read of a freed frame itself, which the next allocation hands out.
  check('after the wait, a walk through the cached pointer to the freed PTE table reads freed memory (logged)',
    [read(dev1, userVpn(3)), kinds(mem.takeAnomalies())], ['vtd0: not-present', ['walk-freed-table']]);
  const reused = mem.alloc('data', 1, userToken(1, 0, 1));
  check('the next allocation reuses the freed PTE table frame (LIFO)', reused, pte23);
  check("the same stale walk now reads mm1's data as a table: logged, nothing present",
    [read(dev1, userVpn(3)), kinds(mem.takeAnomalies())], ['vtd0: not-present', ['walk-non-table']]);
  vtd.submit({ kind: 'piotlb', granularity: 'page', did: 1, pasid: 1, addr: userVpn(2), am: 1, ih: false });
  vtd.submit({ kind: 'wait', fence: false, drain: false });
  check('IH=0 drops the paging-structure entry: the walk starts at the pgd and logs nothing',
    [read(dev1, userVpn(3)), kinds(mem.takeAnomalies())], ['vtd0: not-present', []]);

  const mapped = pt.destroy();
  check('exit_mmap returns the frames of p0..p1', mapped, [frames[0], frames[1]]);
  for (const f of mapped) mem.free(f);
  kernel.unmap(kernelVpn(0));
  mem.free(kframe);
  kernel.freeEmptyTables(kernelVpn(0));
  mem.free(reused);
  check('teardown leaves only the kernel root allocated', [mem.liveFrames('data'), mem.liveFrames('table')], [[], [kernel.root]]);
};

/** `sva-harness selfcheck`: the scenario at 4 and 5 levels; deterministic, a few ms. */
export const runSelfcheck = (): SelfcheckResult => {
  const lines = ['selfcheck: emulated memory, CPU page tables, a VT-d unit, an AMD-Vi unit and ATS devices (the harness runner is not involved)'];
  let total = 0;
  let failed = 0;
  const check: Check = (what, actual, expected) => {
    total++;
    const a = JSON.stringify(actual) ?? 'undefined';
    const e = JSON.stringify(expected) ?? 'undefined';
    if (a === e) lines.push(`  ok    ${what}`);
    else {
      failed++;
      lines.push(`  FAIL  ${what}: got ${a}, expected ${e}`);
    }
  };
  for (const levels of [4, 5] as const) {
    lines.push(`${levels}-level page tables:`);
    try {
      scenario(levels, check);
      amdScenario(levels, check);
    } catch (e) {
      total++;
      failed++;
      lines.push(`  FAIL  the scenario stopped: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  lines.push(failed === 0 ? `selfcheck: pass (${total} checks)` : `selfcheck: FAIL (${failed} of ${total} checks failed)`);
  return { lines, failed };
};
