/** touch(mm, page, write): a CPU access (fault-in or RO→RW upgrade). Legal when the mm is live. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const touchCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), pageId(t), fc.boolean()).map(([mm, page, write]) => new SvaCommand({ kind: 'touch', mm, page, write }));
