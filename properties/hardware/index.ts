import type { Invariant } from '../invariant.js';
import { afterUnbind } from './afterUnbind.js';
import { exitWhileBound } from './exitWhileBound.js';
import { invalidationCost } from './invalidationCost.js';
import { invalidationRanges } from './invalidationRanges.js';
import { kernelPageTables } from './kernelPageTables.js';
import { noStaleTranslation } from './noStaleTranslation.js';
import { ordering } from './ordering.js';
import { queueLiveness } from './queueLiveness.js';
import { iopfCount } from './iopfCount.js';
import { priDrain } from './priDrain.js';
import { priExit } from './priExit.js';
import { priResponses } from './priResponses.js';
import { priRetry } from './priRetry.js';
import { priStale } from './priStale.js';
import { priStop } from './priStop.js';
import { uafDma } from './uafDma.js';

/** Invariants over the emulated hardware's tables, caches and queues. */
export const HARDWARE_INVARIANTS: readonly Invariant[] = [
  noStaleTranslation,
  ordering,
  afterUnbind,
  exitWhileBound,
  uafDma,
  invalidationCost,
  invalidationRanges,
  kernelPageTables,
  queueLiveness,
  priDrain,
  priResponses,
  priStale,
  priExit,
  priRetry,
  priStop,
  iopfCount,
];
