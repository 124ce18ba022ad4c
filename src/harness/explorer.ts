import type { CommandKind, FaultId, Platform, Topology } from '../shared/index.js';
import type { Checked } from '../trace/index.js';

/**
 * The explorer contract, owned by the harness like the runner's (runner.ts): the CLI parses
 * `sva-harness explore`, calls this and prints; src/explore implements it and the entry point
 * (bin/sva-harness.mjs) injects it. Bad input is `{ ok: false, error }` (one line, exit 2); a
 * violation is a result.
 */
export interface HarnessExplorer {
  explore(opts: ExploreOptions): Checked<ExploreSummary>;
}

/** The small scope explored: everything but the platform, which ExploreOptions lists. */
export interface ExploreScope {
  readonly iommus: number;
  readonly devicesPerIommu: number;
  readonly mms: number;
  readonly pages: number;
  /** Kernel vmalloc pages (vmalloc, vfree, prefetchKernel are explored only with some). */
  readonly kpages: number;
  /** PASID width of every IOMMU (and the devices' cap): 2 bits gives PASIDs 1..3. */
  readonly pasidBits: number;
}

/** The scope the issue names: 1 IOMMU, 2 devices, 2 mms, 2 pages (16 PASIDs, no kernel pages). */
export const DEFAULT_EXPLORE_SCOPE: ExploreScope = Object.freeze({ iommus: 1, devicesPerIommu: 2, mms: 2, pages: 2, kpages: 0, pasidBits: 4 });

export type ExploreOrder = 'bfs' | 'dfs';

export interface ExploreOptions {
  /** Explored one after the other, each with the whole time budget. */
  readonly platforms: readonly Platform[];
  readonly scope: ExploreScope;
  /** Longest command sequence explored. */
  readonly depth: number;
  /**
   * bfs: level by level, so the first violation found is a shortest one; dfs: depth first with
   * little memory, and a violation it finds is then shortened by a breadth-first pass to its depth.
   */
  readonly order: ExploreOrder;
  /** Symmetry reduction over interchangeable mm slots and devices (default on). */
  readonly symmetry: boolean;
  /** Command kinds explored; undefined = every kind. */
  readonly kinds?: readonly CommandKind[];
  /** Wall-time budget per platform; undefined = until the depth is exhausted. */
  readonly seconds?: number;
  readonly fault?: FaultId;
  /** Folder for the counterexample trace (created on first write). */
  readonly tracesDir: string;
  readonly progress?: (p: ExploreProgress) => void;
}

export interface ExploreProgress {
  readonly platform: Platform;
  /** Depth being expanded, and the bound. */
  readonly depth: number;
  readonly maxDepth: number;
  readonly states: number;
  readonly transitions: number;
  /** Fraction of the time budget used (0 without one). */
  readonly done: number;
  readonly elapsedMs: number;
}

export interface PlatformExploreSummary {
  readonly platform: Platform;
  readonly topology: Topology;
  /** Distinct state fingerprints reached, the initial state included. */
  readonly distinctStates: number;
  /** Commands executed from an explored state (each a checked step). */
  readonly transitions: number;
  /** Every sequence of at most this many commands was checked (what the run proves). */
  readonly depthComplete: number;
  /** The search stopped on its time budget before the depth bound. */
  readonly timedOut: boolean;
  readonly elapsedMs: number;
  /** The first violation: its invariant and the length of the (shortest) sequence. */
  readonly violation?: { readonly invariant: string; readonly length: number };
  readonly trace?: string;
}

export interface ExploreSummary {
  readonly fault?: FaultId;
  readonly platforms: readonly PlatformExploreSummary[];
  readonly traces: readonly string[];
}
