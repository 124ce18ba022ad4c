import { userVpn } from '../../src/shared/index.js';
import { retriedAfterExit } from './priExitWindow.js';
import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck } from './platform.js';

/**
 * Both platforms alike: a request answered for an exited mm (found by the table root it was
 * made against) was answered with an error and did not complete; an exited mm's page tables
 * hold no user page (nothing was faulted in after exit_mmap); no walk reached a freed table.
 */
const check: PlatformCheck = (ctx, out) => {
  const { world, spec } = ctx;
  for (const dev of world.devices) {
    const pri = dev.hw.priState;
    if (pri === undefined || pri.completions.length === 0) continue;
    let sanctioned: boolean[] | undefined;
    for (const c of pri.completions) {
      const mm = world.mms.find((m) => m !== undefined && !m.freed && m.pgd.pgd === c.root);
      if (mm === undefined || !mm.exited) continue;
      if (c.code === 'success' || c.ok) {
        // A concurrent group's probe spans its members: a response the spec gave too, in its
        // linearization, came before the exit (the spec answers none after it). Its retry may
        // still fail: the handler ran before exit_mmap, the response went out after the mm
        // release had cleared the translation (retriedAfterExit).
        sanctioned ??= new Array<boolean>(spec.retired.length).fill(false);
        const k = spec.retired.findIndex((r, j) => !sanctioned![j] && r.dev === dev.id && r.slot === mm.slot && userVpn(r.page) === c.vpn && (r.ok === c.ok || retriedAfterExit(spec, r, c.ok)));
        if (k >= 0) {
          sanctioned[k] = true;
          continue;
        }
        out.add({ dev: dev.id, mm: mm.slot, pasid: c.pasid }, `${dev.hw.name} PRG on PASID ${c.pasid} of exited mm${mm.slot} was answered ${c.code}${c.ok ? ' and completed' : ''}`);
      }
    }
  }
  if (ctx.cmd.kind !== 'serviceFaults' && ctx.cmd.kind !== 'unbind') return;
  for (const a of ctx.anomalies) if (a.kind === 'walk-freed-table') out.add({ frame: a.frame }, `${a.by} walked freed page-table frame ${a.frame} while faults were handled`);
  const pages = world.topology.pages;
  for (const mm of world.mms) {
    if (mm === undefined || mm.freed || !mm.exited) continue;
    for (let p = 0; p < pages; p++) {
      if (mm.pgd.lookup(userVpn(p)) !== 0) out.add({ mm: mm.slot, page: p }, `exited mm${mm.slot} has page ${p} mapped again: a fault was handled after exit_mmap`);
    }
  }
};

/** I-PRI-EXIT: a request against an exited mm is answered invalid and faults nothing in. */
export const priExit: Invariant = {
  id: 'I-PRI-EXIT',
  title: 'Page requests against an exited mm fail and fault nothing in',
  kernelRule:
    'iommu_sva_handle_mm takes mmget_not_zero first: once exit_mmap has run it fails and the group is answered IOMMU_PAGE_RESP_INVALID, so no page is faulted into tables being freed.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_handle_mm (v6.17); mm/mmap.c: exit_mmap',
  check: perPlatform('I-PRI-EXIT', { vtd: check, smmuv3: check, amd: check }),
};
