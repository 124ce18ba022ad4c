/**
 * Every registered invariant, in the order they run. To add one: write one file exporting an
 * `Invariant` (see invariant.ts) in lifecycle/ or hardware/, and add it to that folder's list.
 */
import type { Invariant } from './invariant.js';
import { LIFECYCLE_INVARIANTS } from './lifecycle/index.js';
import { HARDWARE_INVARIANTS } from './hardware/index.js';

export const INVARIANTS: readonly Invariant[] = [...LIFECYCLE_INVARIANTS, ...HARDWARE_INVARIANTS];
