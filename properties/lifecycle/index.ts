import type { Invariant } from '../invariant.js';
import { consistency } from './consistency.js';
import { domainSharing } from './domainSharing.js';
import { failedCall } from './failedCall.js';
import { forkChild } from './fork.js';
import { handles } from './handles.js';
import { kernelLog } from './kernelLog.js';
import { noUseAfterFree } from './noUseAfterFree.js';
import { pasidLifetime } from './pasidLifetime.js';
import { pasidRange } from './pasidRange.js';
import { quiescence } from './quiescence.js';
import { refinement } from './refinement.js';
import { svaMms } from './svaMms.js';

/** Invariants over kernel objects, lifetimes and the refinement mapping, in the order they run. */
export const LIFECYCLE_INVARIANTS: readonly Invariant[] = [
  pasidLifetime,
  pasidRange,
  domainSharing,
  handles,
  consistency,
  noUseAfterFree,
  quiescence,
  forkChild,
  svaMms,
  kernelLog,
  failedCall,
  refinement,
];
