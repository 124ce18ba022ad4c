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
  // Then 979/3429 (VT-d), 755/2823 (SMMUv3), 788/2873 (AMD) until fault injection (issue 13)
  // was merged: failNext now arms any of the platform's own sites (src/shared/failSite.ts:
  // 11 on VT-d, 12 on SMMUv3, 8 on AMD, instead of 3 shared ones) and failNth(1..12) is a new
  // kind, so every armed injection is a state of its own and every fallible call of the next
  // command a branch: the explorer walks the bind path's error ladders exhaustively.
  vtd: { scope: SMALL, depth: 4, distinctStates: 3529, transitions: 11862 },
  smmuv3: { scope: SMALL, depth: 4, distinctStates: 2951, transitions: 10232 },
  amd: { scope: SMALL, depth: 4, distinctStates: 2562, transitions: 8868 },
};
