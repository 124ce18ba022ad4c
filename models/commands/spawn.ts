/** spawn(mm): a new process in a free slot (unborn or freed). */
import type fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const spawnCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  mmId(t).map((mm) => new SvaCommand({ kind: 'spawn', mm }));
