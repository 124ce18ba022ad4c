/** migrate(mm, page): the kernel moves the page to another frame (batched flush). Legal while the mm is live. */
import fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { mmId, pageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const migrateCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  fc.tuple(mmId(t), pageId(t)).map(([mm, page]) => new SvaCommand({ kind: 'migrate', mm, page }));
