/** munmap(mm, first, count): zap, invalidate, free. Legal when the mm is live (gaps allowed). */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId, pageRange } from '../ids.js';
import { SvaCommand } from '../model.js';

export const munmapCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), pageRange(t)).map(([mm, { first, count }]) => new SvaCommand({ kind: 'munmap', mm, first, count }));
