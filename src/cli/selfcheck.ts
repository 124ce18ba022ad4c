import { PciDevice } from '../hw/device.js';
import { type Anomaly, KERNEL_OWNER, PTE_U, PhysMem, pteFrame } from '../hw/mem.js';
import { CpuPageTable, KernelSpace } from '../hw/pagetable.js';
import { formatToken, kernelToken, kernelVpn, userToken, userVpn } from '../shared/index.js';
import { hwWalk, tableOnPath, WalkOnlyIommu } from './selfcheckWalker.js';

export interface SelfcheckResult {
  /** What was done and checked, one line each, ending with the pass/fail line. */
  readonly lines: readonly string[];
  readonly failed: number;
}

type Check = (what: string, actual: unknown, expected: unknown) => void;

const kinds = (a: readonly Anomaly[]): string[] => a.map((x) => x.kind);

/**
 * The stale-translation story end to end on the emulated hardware alone: map pages, walk them
 * as the CPU and as an IOMMU, let a device cache a translation, unmap and free the PTE table,
 * then show that the stale ATC entry and a stale walk-cache pointer reach freed memory (and
 * that PhysMem's anomaly log sees it), that the freed table frame is the next one reused
 * (LIFO), and that teardown leaves nothing but the kernel's root.
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
  const tokens = pages.map((p) => formatToken(mem.hwAccess(pteFrame(hwWalk(mem, pt.pgd, levels, userVpn(p), 'walk0')), 'walk0')));
  check(`a ${levels}-level hardware walk reads each page's content token`, tokens, pages.map((p) => formatToken(userToken(0, p, 1))));
  check('walks of live tables log no anomaly', kinds(mem.takeAnomalies()), []);

  const kframe = mem.alloc('data', KERNEL_OWNER, kernelToken(0, 1));
  kernel.map(kernelVpn(0), kframe, true, false);
  const ke = hwWalk(mem, pt.pgd, levels, kernelVpn(0), 'walk0');
  check('vmalloc page k0 is reached from the user pgd, supervisor-only',
    [pteFrame(ke) === kframe, (ke & PTE_U) === 0, pt.translate(kernelVpn(0))], [true, true, undefined]);

  const iommu = new WalkOnlyIommu(mem, levels);
  iommu.setPasid(1, pt.pgd);
  const dev = new PciDevice(0, 0, iommu, 5, true, false, mem);
  const first = dev.dma(1, userVpn(3), false);
  check('dev0 reads p3 through PASID 1 and caches it in its ATC',
    [first.ok ? formatToken(first.token) : first.fault, dev.atcEntries().length], ['mm0.p3#1', 1]);

  const pte23 = tableOnPath(mem, pt.pgd, levels, userVpn(2), 1);
  for (const p of [2, 3]) {
    pt.unmap(userVpn(p));
    mem.free(frames[p]!);
  }
  check('munmap of p2..p3 frees exactly their PTE table', pt.freeEmptyTables(userVpn(2)), [pte23]);

  const stale = dev.dma(1, userVpn(3), false);
  check('without an ATC invalidation dev0 still reads the freed page',
    [stale.ok ? formatToken(stale.token) : stale.fault, dev.counters.get('atc.hit')], ['mm0.p3#1', 1]);
  check('the anomaly log records that DMA to a freed frame', kinds(mem.takeAnomalies()), ['dma-freed-frame']);
  dev.atcInvalidate(1, userVpn(2), 2);
  check('after the ATC invalidation the DMA faults: the PTE table is unlinked',
    dev.dma(1, userVpn(3), false), { ok: false, fault: 'walk0: not-present' });

  const viaCache = hwWalk(mem, pte23!, 1, userVpn(3), 'walk0');
  // munmap zapped the PTEs before freeing the table, so the stale read finds nothing mapped:
  // the harm is the read of a freed frame itself, which the next allocation hands out.
  check('a walk through a cached pointer to the freed PTE table reads freed memory (logged)',
    [viaCache, kinds(mem.takeAnomalies())], [0, ['walk-freed-table']]);
  const reused = mem.alloc('data', 1, userToken(1, 0, 1));
  check('the next allocation reuses the freed PTE table frame (LIFO)', reused, pte23);
  check("the same stale walk now reads mm1's data as a table: logged, nothing present",
    [hwWalk(mem, pte23!, 1, userVpn(3), 'walk0'), kinds(mem.takeAnomalies())], [0, ['walk-non-table']]);

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
  const lines = ['selfcheck: emulated memory, CPU page tables and an ATS device (the harness runner is not involved)'];
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
    } catch (e) {
      total++;
      failed++;
      lines.push(`  FAIL  the scenario stopped: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    }
  }
  lines.push(failed === 0 ? `selfcheck: pass (${total} checks)` : `selfcheck: FAIL (${failed} of ${total} checks failed)`);
  return { lines, failed };
};
