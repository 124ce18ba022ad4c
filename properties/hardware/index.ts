import type { Invariant } from '../invariant.js';

/** Invariants over the emulated hardware's tables, caches and queues (filled in by the properties work). */
export const HARDWARE_INVARIANTS: readonly Invariant[] = [];
