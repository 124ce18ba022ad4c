import { KERNEL_OWNER, PTE_P, PTE_U, pteFrame, type PhysMem } from '../../src/hw/mem.js';
import { formatToken, iovaVpn, userVpn } from '../../src/shared/index.js';
import { pagingTableAt } from './cpuWalk.js';
import type { CheckContext, Invariant } from '../invariant.js';
import { perPlatform, type Sink } from './platform.js';

/** A data or freed frame holding `token` (freed ones first), or -1. Only run once a DMA went wrong. */
function frameOf(mem: PhysMem, token: number): number {
  let live = -1;
  for (let f = 0; f < mem.frameCount; f++) {
    if (mem.token(f) !== token) continue;
    const kind = mem.kind(f);
    if (kind === 'free') return f;
    if (kind === 'data') live = f;
  }
  return live;
}

/**
 * Both platforms alike: the anomaly log names DMA to freed frames; a DMA whose token is not the
 * content of the page it asked for is traced back to the frame it must have reached.
 */
function check(ctx: CheckContext, out: Sink): void {
  let logged = false;
  for (let i = 0; i < ctx.anomalies.length; i++) {
    const a = ctx.anomalies[i]!;
    if (a.kind !== 'dma-freed-frame') continue;
    logged = true;
    out.add({ frame: a.frame }, `${a.by} DMA reached frame ${a.frame}, which is free or a page table`);
  }
  const { cmd, actual, world } = ctx;
  // A logged stray access already names the frame; its token says nothing more.
  if (logged || (cmd.kind !== 'dma' && cmd.kind !== 'dmaIova') || !actual.ok || actual.value === undefined) return;
  const mem = world.kernel.mem;
  if (cmd.kind === 'dmaIova') return checkIova(ctx, cmd.dev, world.hwpts[cmd.hwpt]?.pasid.get(world.devices[cmd.dev]!.group), cmd.page, actual.value, out);
  const mm = world.mms[cmd.mm];
  if (mm === undefined || mm.freed) return;
  const pasid = mm.iommu_mm?.pasid;
  if (pasid !== undefined && pagingTableAt(world, world.devices[cmd.dev]!.group, pasid) !== undefined) {
    return checkIova(ctx, cmd.dev, pasid, cmd.page, actual.value, out);
  }
  const pte = mm.pgd.lookup(userVpn(cmd.page));
  if ((pte & PTE_P) !== 0 && (pte & PTE_U) !== 0 && mem.token(pteFrame(pte)) === actual.value) return;
  const f = frameOf(mem, actual.value);
  const objects = { dev: cmd.dev, mm: cmd.mm, page: cmd.page, frame: f };
  const token = formatToken(actual.value);
  if (f < 0) return out.add(objects, `dev${cmd.dev} DMA on mm${cmd.mm} page ${cmd.page} read ${token}, held by no frame`);
  const kind = mem.kind(f);
  const owner = mem.owner(f);
  const what = kind === 'free' ? 'a freed frame' : owner === KERNEL_OWNER ? 'a kernel frame' : owner !== cmd.mm ? `a frame of mm slot ${owner}` : 'a frame no longer mapped at that page';
  out.add(objects, `dev${cmd.dev} DMA on mm${cmd.mm} page ${cmd.page} reached ${what} (frame ${f}, ${token})`);
}

/** An access through an iommufd paging domain must read the buffer its table maps at that IOVA page. */
function checkIova(ctx: CheckContext, dev: number, pasid: number | undefined, page: number, token: number, out: Sink): void {
  const world = ctx.world;
  if (pasid === undefined) return;
  const pt = pagingTableAt(world, world.devices[dev]!.group, pasid);
  const mem = world.kernel.mem;
  const pte = pt?.lookup(iovaVpn(page)) ?? 0;
  if ((pte & PTE_P) !== 0 && mem.kind(pteFrame(pte)) === 'data' && mem.token(pteFrame(pte)) === token) return;
  const f = frameOf(mem, token);
  out.add({ dev, pasid, page, frame: f }, `dev${dev} DMA at PASID ${pasid} IOVA page ${page} read ${formatToken(token)}, not the buffer its paging domain maps there (frame ${f}${f >= 0 && mem.kind(f) === 'free' ? ', freed' : ''})`);
}

/** I-UAF-DMA: no DMA or walk reaches a freed frame or a frame now owned by another mm. */
export const uafDma: Invariant = {
  id: 'I-UAF-DMA',
  title: 'No DMA reaches a freed or foreign frame',
  kernelRule:
    'A frame is freed only after every IOMMU and ATC entry that could reach it has been invalidated (tlb_finish_mmu flushes, then frees), so a DMA reads only the current page of its own mm.',
  source: 'mm/mmu_gather.c: tlb_finish_mmu; drivers/iommu/intel/svm.c: intel_arch_invalidate_secondary_tlbs ("Pages have been freed at this point") (v6.17); bugs B07, B14',
  check: perPlatform('I-UAF-DMA', { vtd: check, smmuv3: check, amd: check }),
};
