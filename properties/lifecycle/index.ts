import type { Invariant } from '../invariant.js';

/** Invariants over kernel objects, lifetimes and the refinement mapping (filled in by the properties work). */
export const LIFECYCLE_INVARIANTS: readonly Invariant[] = [];
