import { formatToken, userVpn } from '../../src/shared/index.js';
import type { Invariant } from '../invariant.js';
import { perPlatform, type PlatformCheck } from './platform.js';
import { retriedAfterExit, retriedAfterUnmap } from './priExitWindow.js';

/**
 * Both platforms alike: the accesses devices retried after a page response during the step
 * are, device by device and in order, the ones the spec answered (spec.retired): the same
 * outcome and, for a completed one, the same content token. Only commands that run the fault
 * machinery (serviceFaults, and the drains of unbind, of a PASID detach or replacement, of
 * unplug's unbinds and of a failed bind's or PASID attach's unwind) answer any.
 */
const check: PlatformCheck = (ctx, out) => {
  const { world, spec, cmd } = ctx;
  // unplug: the removed device's driver unbinds, and each unbind drains; dma and prg: a PRQ
  // overflow answers a dropped LAST at once.
  const answers =
    cmd.kind === 'serviceFaults' || cmd.kind === 'unbind' || cmd.kind === 'bind' || cmd.kind === 'unplug' ||
    cmd.kind === 'dma' || cmd.kind === 'prg' || cmd.kind === 'detachPasid' || cmd.kind === 'replacePasid' || cmd.kind === 'attachPasid';
  for (const dev of world.devices) {
    const got = dev.hw.priState?.completions;
    if (got === undefined) continue;
    if (!answers) {
      if (got.length > 0) out.add({ dev: dev.id }, `${dev.hw.name}: ${got.length} page request(s) answered during ${cmd.kind}, which runs no fault handling`);
      continue;
    }
    const want = spec.retired.filter((r) => r.dev === dev.id);
    if (got.length !== want.length) {
      out.add({ dev: dev.id }, `${dev.hw.name}: ${got.length} page request(s) answered, the spec answered ${want.length}`);
      continue;
    }
    // The IOPF workqueue is unbound and unordered: in a concurrent group two groups' responses
    // may come in either order. Each retried access is matched to the spec's first unmatched
    // answer for its page and access (in order, so a sequential step compares index by index;
    // a read and a write on one page may end differently: run --groups 0.15 on AMD, seed 4307).
    // Pages are matched with their PASID first: one page number of two mms, two different answers.
    const used = new Array<boolean>(want.length).fill(false);
    const pasidOf = (slot: number): number => (slot < 0 ? -1 : spec.slots[slot]!.pasid.ctx.pasid);
    for (let i = 0; i < got.length; i++) {
      const g = got[i]!;
      let k = want.findIndex((r, j) => !used[j] && userVpn(r.page) === g.vpn && r.write === g.write && pasidOf(r.slot) === g.pasid);
      if (k < 0) k = want.findIndex((r, j) => !used[j] && userVpn(r.page) === g.vpn && r.write === g.write);
      if (k < 0) k = used.indexOf(false);
      used[k] = true;
      const w = want[k]!;
      if (g.ok === w.ok && (!g.ok || g.token === w.token)) continue;
      if (retriedAfterExit(spec, w, g.ok) || retriedAfterUnmap(spec, w, g.ok)) continue;
      const show = (ok: boolean, token: number): string => (ok ? `read ${formatToken(token)}` : 'failed');
      out.add({ dev: dev.id, mm: w.slot, page: w.page }, `${dev.hw.name}: retried access to mm${w.slot} page ${w.page} ${show(g.ok, g.token)}, the spec expects it ${show(w.ok, w.token)}`);
    }
  }
};

/** I-PRI-RETRY: a retried DMA reads what the spec says the page holds. */
export const priRetry: Invariant = {
  id: 'I-PRI-RETRY',
  title: 'Retried DMAs after a page response match the spec',
  kernelRule:
    'A Success response follows handle_mm_fault on the faulting address, so the retried access reaches the page just faulted in; an Invalid response ends the access.',
  source: 'drivers/iommu/iommu-sva.c: iommu_sva_handle_iopf (v6.17); PCIe r6.0 10.4.2 (PRG Response)',
  check: perPlatform('I-PRI-RETRY', { vtd: check, smmuv3: check, amd: check }),
};
