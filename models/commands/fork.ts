/**
 * fork(mm, child): dup_mm into a free slot. The child is drawn among the OTHER slots (an
 * offset from the parent), so no generated fork is illegal for naming itself.
 */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const forkCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), fc.integer({ min: 1, max: Math.max(1, t.mms - 1) }))
    .map(([mm, offset]) => new SvaCommand({ kind: 'fork', mm, child: (mm + offset) % t.mms }));
