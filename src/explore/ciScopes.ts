/**
 * One explore scope per platform for CI, with its expected counts next to it (the habit of
 * the TLA+ Examples, where each model's distinctStates is recorded beside it): a change to the
 * spec, the impl, the hardware or the generators that changes the state space shows up as a
 * failing count, to be understood and then recorded here. test/explore/ciScopes.test.ts runs
 * them in `npm test`. A new platform needs an entry (the test says so).
 */
import type { ExploreScope } from '../harness/index.js';
import type { Platform } from '../shared/index.js';

export interface CiScope {
  readonly scope: ExploreScope;
  readonly depth: number;
  /** Breadth first, symmetry on, every command kind: the explorer's defaults. */
  readonly distinctStates: number;
  readonly transitions: number;
}

const SMALL: ExploreScope = { iommus: 1, devicesPerIommu: 2, mms: 2, pages: 2, kpages: 0, pasidBits: 4 };

export const CI_SCOPES: Readonly<Partial<Record<Platform, CiScope>>> = {
  // 944 states under the v6.17 port; 979 since the v7.0-rc5 port changed the VT-d teardown and
  // IOPF paths (docs/kernel-version.md). The transition count did not change.
  vtd: { scope: SMALL, depth: 4, distinctStates: 979, transitions: 3429 },
  smmuv3: { scope: SMALL, depth: 4, distinctStates: 755, transitions: 2823 },
  amd: { scope: SMALL, depth: 4, distinctStates: 788, transitions: 2873 },
};
