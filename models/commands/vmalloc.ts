/** vmalloc(k): map kernel page k (and its kernel page-table page). Legal when k is unmapped. */
import type fc from 'fast-check';
import type { Topology } from '../../src/shared/index.js';
import { kpageId } from '../ids.js';
import { SvaCommand } from '../model.js';

export const vmallocCommand = (t: Topology): fc.Arbitrary<SvaCommand> =>
  kpageId(t).map((kpage) => new SvaCommand({ kind: 'vmalloc', kpage }));
