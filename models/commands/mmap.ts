/** mmap(mm, first, count, prot): a new VMA. Legal when the mm is live and the range is free. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId, pageRange } from '../ids.js';
import { SvaCommand } from '../model.js';

export const mmapCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), pageRange(t), fc.constantFrom('rw' as const, 'r' as const))
    .map(([mm, { first, count }, prot]) => new SvaCommand({ kind: 'mmap', mm, first, count, prot }));
