/**
 * How often each kind is drawn. Tuned (and measured: see the suites' executed/filtered line)
 * so that most generated commands are legal: spawn is common enough that every slot is live
 * early; exit/mmdrop/fork are rare enough that slots stay live long; DMA, touch and bind,
 * which do the interesting work, dominate. A weight of 0 drops a kind.
 */
import type { CommandKind } from '../src/shared/index.js';

export type Weights = Readonly<Record<CommandKind, number>>;

export const DEFAULT_WEIGHTS: Weights = {
  bind: 8,
  unbind: 4,
  mmap: 4,
  touch: 8,
  munmap: 3,
  mprotect: 2,
  dma: 12,
  prefetch: 4,
  exit: 1,
  mmdrop: 3,
  fork: 1,
  spawn: 4,
  gracePeriod: 2,
  // Kernel pages: 2, 2 and 3 (prefetchKernel) since the draws grew (stopMarker, the nested
  // HWPT's guest commands): at 1, 1 and 2 B14's vfree after a kernel-page walk was met in 1 of
  // ~300 runs and missed the 1000-run budget on 1 of 10 bench:faults seeds.
  vmalloc: 2,
  vfree: 2,
  failNext: 1,
  serviceFaults: 3,
  prefetchKernel: 3,
  unplug: 1,
  failNth: 2,
  prg: 4,
  // iommufd paging domains at a PASID (VT-d; elsewhere attachPasid is -EOPNOTSUPP and the
  // others are never legal).
  attachPasid: 3,
  detachPasid: 2,
  iommuMap: 3,
  iommuUnmap: 2,
  dmaIova: 4,
  migrate: 2,
  replacePasid: 2,
  // The guest's stage-1 table of the nested HWPT (VT-d; never legal elsewhere: no nested HWPT).
  guestMap: 3,
  guestUnmap: 2,
  // IOMMU_DESTROY of a HWPT (VT-d and SMMUv3): rare, so that attachments and mappings build up
  // between two destroys; legal only while the HWPT is allocated.
  destroyHwpt: 1,
  // Drawn only inside concurrent groups (models/groups.ts), racing a replace of its PASID: a
  // sequential weight would change every seed's sequence.
  dmaPasid: 0,
  // A PRI device stops a PASID with a Stop Marker (VT-d only: elsewhere never possible, so the
  // other platforms' sequences are unchanged).
  stopMarker: 2,
};
