/** mmdrop(mm): the process drops its own mm_count reference. Legal once the mm exited. */
import type fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const mmdropCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  mmId(t).map((mm) => new SvaCommand({ kind: 'mmdrop', mm }));
