/**
 * A scope as a topology: `iommus` IOMMUs with `devicesPerIommu` devices each, every device
 * PASID-capable, ATS-capable, without PRI and alone in its group (so devices behind one IOMMU
 * are interchangeable), `mms` slots of `pages` pages, `kpages` kernel pages, 4-level paging.
 * The IOMMUs' PASID width is the scope's; ASID width 4 bits on SMMUv3 (as the default
 * topology), range invalidation on.
 */
import type { Platform, Topology } from '../shared/index.js';
import { topologyError } from '../shared/index.js';
import { DEFAULT_EXPLORE_SCOPE } from '../harness/index.js';
import type { ExploreScope } from '../harness/index.js';
import { type Checked, bad, good } from '../trace/index.js';

export const DEFAULT_SCOPE: ExploreScope = DEFAULT_EXPLORE_SCOPE;

export const scopeTopology = (platform: Platform, scope: ExploreScope): Checked<Topology> => {
  const t: Topology = {
    platform,
    iommus: Array.from({ length: scope.iommus }, () => ({ pasidBits: scope.pasidBits, didBits: 16, asidBits: 4, rangeInv: true })),
    devices: Array.from({ length: scope.iommus * scope.devicesPerIommu }, (_, i) => ({
      iommu: Math.floor(i / scope.devicesPerIommu), group: i, pasidBits: 20, ats: true, pri: false,
    })),
    mms: scope.mms,
    pages: scope.pages,
    kpages: scope.kpages,
    ptLevels: 4,
  };
  const problem = topologyError(t);
  return problem === undefined ? good(t) : bad(`scope: ${problem}`);
};
